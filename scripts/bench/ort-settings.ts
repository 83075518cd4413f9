import { loadConfig } from '../../src/config.js'

/**
 * The ONNX Runtime settings the service will use under `env`, read by the service's own config reader (defaults,
 * validation, the cores shared among instances), so that every ceiling runs with the same ones.
 */
export function ortSettings (env: Record<string, string>): { threads: number, spinning: boolean } {
  const { intraOpThreads, spinning } = loadConfig(env)
  return { threads: intraOpThreads, spinning }
}

/** INFERENCE_INSTANCES under `env`: backbone sessions running side by side. */
export function inferenceInstances (env: Record<string, string>): number {
  return loadConfig(env).inferenceInstances
}
