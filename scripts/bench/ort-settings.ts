import { availableParallelism } from 'node:os'

/**
 * The ONNX Runtime settings the service will use under `env`, so that every ceiling runs with the same ones: as
 * many instances, and the cores shared among them unless INTRA_OP_THREADS says otherwise.
 */
export function ortSettings (env: Record<string, string>): { threads: number, spinning: boolean } {
  return {
    threads: Number(env.INTRA_OP_THREADS ?? Math.max(1, Math.floor(availableParallelism() / inferenceInstances(env)))),
    spinning: ['1', 'true', 'yes', 'on'].includes((env.ORT_SPINNING ?? 'false').toLowerCase())
  }
}

/** INFERENCE_INSTANCES under `env`: backbone sessions running side by side. */
export function inferenceInstances (env: Record<string, string>): number {
  return Number(env.INFERENCE_INSTANCES ?? 1)
}
