import { join } from 'node:path'
import ort from 'onnxruntime-node'
import { onnxPathForVariant } from '../../src/hub/variant-files.js'

/**
 * The ceiling: the backbone alone, in a plain ONNX Runtime loop over tensors made before the clock starts,
 * with the same threads and spinning as the service. Nothing a server does can beat it.
 */
export class RawSession {
  private readonly tensors = new Map<number, ort.Tensor>()
  private readonly warmed = new Set<number>()

  private constructor (private readonly session: ort.InferenceSession, private readonly size: number) {}

  static async open (modelDir: string, options: { size: number, threads: number, spinning: boolean, variant?: string }): Promise<RawSession> {
    const file = join(modelDir, onnxPathForVariant(options.variant ?? 'fp32'))
    const session = await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } }
    })
    return new RawSession(session, options.size)
  }

  private tensor (batch: number): ort.Tensor {
    let tensor = this.tensors.get(batch)
    if (tensor === undefined) {
      const s = this.size
      tensor = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * s * s }, (_, i) => Math.sin(i)), [batch, 3, s, s])
      this.tensors.set(batch, tensor)
    }
    return tensor
  }

  /** Runs batches for about `seconds`; returns the images done and the seconds taken. */
  async run (batch: number, seconds: number): Promise<{ images: number, seconds: number, latencies: number[] }> {
    const feeds = { pixel_values: this.tensor(batch) }
    await this.session.run(feeds, ['last_hidden_state'])
    const latencies: number[] = []
    const started = performance.now()
    while (performance.now() - started < seconds * 1000 || latencies.length < 2) {
      const t0 = performance.now()
      await this.session.run(feeds, ['last_hidden_state'])
      latencies.push(performance.now() - t0)
    }
    return { images: latencies.length * batch, seconds: (performance.now() - started) / 1000, latencies }
  }

  /** One run on `pixels`, [batch, 3, size, size]: for callers that make their own tensors (decode-overlap.ts). */
  async runOn (pixels: Float32Array, batch: number): Promise<void> {
    await this.session.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, this.size, this.size]) }, ['last_hidden_state'])
  }

  /** Images per second at each batch size, each run for about `seconds`, and the batch that does the most. */
  async sweep (batches: number[], seconds: number): Promise<BatchSweep> {
    return await sweepBatches(async (batch) => await this.run(batch, seconds), batches)
  }

  /** One run, untimed, with nothing before it: for measuring what a single run costs in memory. */
  async once (batch: number): Promise<void> {
    await this.session.run({ pixel_values: this.tensor(batch) }, ['last_hidden_state'])
  }

  /** Times `runs` runs of one batch, each alone: for sizes where one run takes seconds. Warms up on first use. */
  async times (batch: number, runs: number): Promise<number[]> {
    const feeds = { pixel_values: this.tensor(batch) }
    if (!this.warmed.has(batch)) {
      await this.session.run(feeds, ['last_hidden_state'])
      this.warmed.add(batch)
    }
    const latencies: number[] = []
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      await this.session.run(feeds, ['last_hidden_state'])
      latencies.push(performance.now() - t0)
    }
    return latencies
  }

  async release (): Promise<void> {
    await this.session.release()
  }
}

export interface BatchSweep {
  byBatch: Record<number, number>
  best: number
}

/** Images per second of `run` at each batch size, and the batch that does the most. */
export async function sweepBatches (run: (batch: number) => Promise<{ images: number, seconds: number }>, batches: number[]): Promise<BatchSweep> {
  const byBatch: Record<number, number> = {}
  for (const batch of batches) {
    const { images, seconds } = await run(batch)
    byBatch[batch] = images / seconds
  }
  const best = Number(Object.entries(byBatch).sort((a, b) => b[1] - a[1])[0][0])
  return { byBatch, best }
}
