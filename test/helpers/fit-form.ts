import type { FastifyInstance } from 'fastify'

export type FitPart =
  | { kind: 'file', field: string, filename: string, data: Buffer, type?: string }
  | { kind: 'field', field: string, value: string }

export const file = (field: string, filename: string, data: Buffer, type = 'image/png'): FitPart => ({ kind: 'file', field, filename, data, type })
export const field = (name: string, value: string): FitPart => ({ kind: 'field', field: name, value })

/** A multipart/form-data body whose parts keep the given order (the fitting routes read pairs in order). */
export function fitForm (parts: FitPart[]): { payload: Buffer, contentType: string } {
  const boundary = '----dinov3-fit-boundary-4b1e9a'
  const chunks: Buffer[] = []
  for (const part of parts) {
    if (part.kind === 'file') {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.field}"; filename="${part.filename}"\r\n` +
        `Content-Type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`), part.data, Buffer.from('\r\n'))
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.field}"\r\n\r\n${part.value}\r\n`))
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

export const TOKEN = 'test-admin-token-0123456789abcdef'
export const bearer = (token = TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** POST /heads/{name}?{query} with the parts, as the admin. */
export async function postFit (app: FastifyInstance, name: string, query: string, parts: FitPart[], token = TOKEN) {
  const { payload, contentType } = fitForm(parts)
  return app.inject({ method: 'POST', url: `/heads/${name}?${query}`, headers: { ...bearer(token), 'content-type': contentType }, payload })
}

export interface JobBody { state: string, progress: number, metrics: Record<string, number>, error?: string, epoch?: number, loss?: number, position?: number }

/** Polls the job until it is done or failed (or the time is up), recording every state seen on the way. */
export async function waitForJob (app: FastifyInstance, name: string, timeoutMs = 240_000): Promise<JobBody & { seen: string[] }> {
  const seen: string[] = []
  const until = Date.now() + timeoutMs
  for (;;) {
    const response = await app.inject({ method: 'GET', url: `/heads/${name}/job`, headers: bearer() })
    const job = response.json() as JobBody
    if (seen.at(-1) !== job.state) seen.push(job.state)
    if (job.state === 'done' || job.state === 'failed' || Date.now() > until) return { ...job, seen }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
