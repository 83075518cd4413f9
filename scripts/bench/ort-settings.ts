import { availableParallelism } from 'node:os'

/** The ONNX Runtime settings the service will use under `env`, so that every ceiling runs with the same ones. */
export function ortSettings (env: Record<string, string>): { threads: number, spinning: boolean } {
  return {
    threads: Number(env.INTRA_OP_THREADS ?? availableParallelism()),
    spinning: ['1', 'true', 'yes', 'on'].includes((env.ORT_SPINNING ?? 'false').toLowerCase())
  }
}
