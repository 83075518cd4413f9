import { execFileSync } from 'node:child_process'

export interface GpuSection {
  available: boolean
  /** What nvidia-smi names, where there is one. */
  devices: string[]
}

/**
 * Whether this machine has an NVIDIA GPU. A GPU run (the embed and features comparisons with
 * EXECUTION_PROVIDERS=cuda, onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12) belongs here; until one
 * has been run, the section says plainly that the numbers above are CPU only.
 */
export function detectGpu (): GpuSection {
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
    const devices = out.split('\n').filter((line) => line.startsWith('GPU '))
    return { available: devices.length > 0, devices }
  } catch {
    return { available: false, devices: [] }
  }
}

export function renderGpu (gpu: GpuSection): string[] {
  return [
    '## GPU',
    '',
    gpu.available
      ? `GPU present (${gpu.devices.join('; ')}), but this benchmark has no GPU run yet: every number above is CPU only.`
      : 'CPU only: no GPU was available for this run.',
    ''
  ]
}
