export interface JobRequest {
  id: number
  name: string
  input: unknown
}

export type JobResponse =
  | { id: number, ok: true, value: unknown }
  | { id: number, ok: false, message: string }
