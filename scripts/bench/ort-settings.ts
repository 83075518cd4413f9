import { usableCores } from '../../src/usable-cores.js'

/**
 * The ONNX Runtime settings the service will use under `env`, so that every ceiling runs with the same ones: as
 * many instances, and the cores shared among them unless INTRA_OP_THREADS says otherwise.
 */
export function ortSettings (env: Record<string, string>): { threads: number, spinning: boolean } {
  return {
    threads: Number(env.INTRA_OP_THREADS ?? Math.max(1, Math.floor(usableCores() / inferenceInstances(env)))),
    spinning: ['1', 'true', 'yes', 'on'].includes((env.ORT_SPINNING ?? 'false').toLowerCase())
  }
}

/** INFERENCE_INSTANCES under `env`: backbone sessions running side by side. */
export function inferenceInstances (env: Record<string, string>): number {
  const instances = Number(env.INFERENCE_INSTANCES ?? 1)
  if (!Number.isInteger(instances) || instances < 1) throw new Error(`INFERENCE_INSTANCES=${env.INFERENCE_INSTANCES ?? ''} is not a whole number of at least 1`)
  return instances
}
