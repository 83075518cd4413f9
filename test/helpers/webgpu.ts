import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** Points the Vulkan loader at no driver: the WebGPU provider then finds no adapter and fails to load. */
export const NO_VULKAN_DRIVER = { VK_DRIVER_FILES: '/nonexistent/no-icd.json', VK_ICD_FILENAMES: '/nonexistent/no-icd.json' }

export const LAVAPIPE_HINT = 'WebGPU runs here on Mesa 25\'s software Vulkan (lavapipe): as root, add the ' +
  'bookworm-backports suite and `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (.ci/run does this)'

/**
 * Mesa's Vulkan drivers want a runtime folder; a test process started from cron or a container may have none.
 * Set once per process, before the first WebGPU session, since Dawn reads the environment when it starts.
 */
export function ensureRuntimeDir (): void {
  if (process.env.XDG_RUNTIME_DIR === undefined || process.env.XDG_RUNTIME_DIR === '') {
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'dinov3-serve-xdg-'))
  }
}

/**
 * Why WebGPU cannot run here, or undefined when it can. Asked of a child process: a missing Vulkan loader or an
 * adapter Dawn refuses must not leave this process with a half-started WebGPU instance.
 */
export async function webgpuUnavailable (modelFile: string): Promise<string | undefined> {
  const probe = `
    const ort = require('onnxruntime-node')
    if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) throw new Error('this onnxruntime-node has no webgpu provider')
    ort.InferenceSession.create(process.argv[1], { executionProviders: ['webgpu'] })
      .then((s) => s.release())
      .catch((e) => { process.stderr.write('PROBE:' + e.message); process.exit(1) })`
  try {
    await promisify(execFile)(process.execPath, ['-e', probe, modelFile], { env: process.env, timeout: 120_000 })
    return undefined
  } catch (error) {
    const { stderr, message } = error as { stderr?: string, message: string }
    const reason = stderr?.includes('PROBE:') === true ? stderr.slice(stderr.indexOf('PROBE:') + 6) : (stderr ?? message)
    // ONNX Runtime prefixes its source location and the failed condition; the words after them say what is missing.
    return (reason.trim().split('\n').pop() ?? '').replace(/^.* was false\. /, '').slice(0, 200)
  }
}
