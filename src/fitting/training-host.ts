import { mkdtempSync, rmSync } from 'node:fs'
import { setPriority } from 'node:os'
import { join } from 'node:path'
import { OrtHost, type SessionLike } from '../inference/ort-worker/ort-host.js'
import type { GraphBuilder } from '../synthetic/onnx-builder.js'
import { writeOnnx } from '../synthetic/write-onnx.js'

/**
 * A thread of its own for the fit's graphs, apart from serving's inference thread: one intra-op thread, no spinning,
 * and a raised nice value, so that a fit takes what serving leaves and never queues behind or ahead of requests.
 */
export class TrainingHost {
  private constructor (private readonly host: OrtHost, private readonly dir: string) {}

  static async start (scratchDir: string, nice: number): Promise<TrainingHost> {
    const host = await OrtHost.start()
    // The thread's sessions run on it alone (one intra-op thread), so its own priority is all there is to set.
    if (process.platform === 'linux' && nice > 0) {
      try { setPriority(host.threadId, nice) } catch {}
    }
    return new TrainingHost(host, mkdtempSync(join(scratchDir, 'dinov3-fit-graphs-')))
  }

  async load (graph: GraphBuilder, name: string): Promise<SessionLike> {
    const file = join(this.dir, `${name}.onnx`)
    writeOnnx(graph, file, false)
    return this.host.createSession(file, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' } } }
    })
  }

  async close (): Promise<void> {
    await this.host.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
