import { setTimeout as sleep } from 'node:timers/promises'
import { ServiceError } from '../errors.js'
import type { Encoded, Engine, Prepared } from '../inference/engine.js'
import type { InputGeometry } from '../inference/geometry.js'
import { StageTimes, type RequestContext } from '../inference/stages.js'
import { patchGrid, poolTokens } from '../inference/tokens.js'
import type { FeatureStore } from './feature-store.js'
import { ServingGate } from './serving-gate.js'

/**
 * Encodes a chunk of fit images under the engine's decoded-pixel budget, as a request would, and gives the pixels back
 * once its tokens are out; when serving holds the budget the fit waits for room instead of failing.
 */
async function encodeWithinBudget (engine: Engine, chunk: Buffer[], prepare: (bytes: Buffer, context: RequestContext) => Promise<Prepared>,
  signal: AbortSignal | undefined): Promise<Encoded[]> {
  for (;;) {
    const context: RequestContext = { signal, times: new StageTimes(), heldPixels: 0 }
    try {
      return await engine.encodeImages(chunk, async (bytes) => prepare(bytes, context), context)
    } catch (error) {
      if (!(error instanceof ServiceError && error.code === 'overloaded')) throw error
    } finally {
      engine.pixels.release(context)
    }
    await sleep(100, undefined, { signal })
  }
}

/**
 * The images through the backbone a chunk at a time, each chunk as large as the serving gate allows and only in the
 * batcher's lulls (serving-gate.ts), each pass timed back to the gate.
 */
async function * encodedInLulls (engine: Engine, images: Buffer[], prepare: (bytes: Buffer, context: RequestContext) => Promise<Prepared>,
  signal: AbortSignal | undefined): AsyncGenerator<Encoded[]> {
  const gate = new ServingGate(engine)
  for (let start = 0; start < images.length;) {
    const chunk = images.slice(start, start + await gate.lull(signal))
    start += chunk.length
    const passStarted = performance.now()
    const encoded = await encodeWithinBudget(engine, chunk, prepare, signal)
    gate.ran(performance.now() - passStarted, chunk.length)
    yield encoded
  }
}

export interface DenseSample {
  /** Index in the feature store. */
  feature: number
  geometry: InputGeometry
  gridHeight: number
  gridWidth: number
}

/** Per-channel sums over every patch of the training images, for the BatchNorm-like normalisation. */
export class ChannelStatistics {
  private readonly sums: Float64Array
  private readonly squares: Float64Array
  private count = 0

  constructor (readonly channels: number) {
    this.sums = new Float64Array(channels)
    this.squares = new Float64Array(channels)
  }

  /** A map [C, cells] (dense) or vectors [n, C] (rows = false). */
  add (values: Float32Array, cells: number, channelMajor = true): void {
    const c = this.channels
    for (let k = 0; k < c; k++) {
      let sum = 0
      let square = 0
      for (let i = 0; i < cells; i++) {
        const v = channelMajor ? values[k * cells + i] : values[i * c + k]
        sum += v
        square += v * v
      }
      this.sums[k] += sum
      this.squares[k] += square
    }
    this.count += cells
  }

  /** Mean and 1/√(variance + ε), as BatchNorm's running statistics would hold at the end of an epoch. */
  result (): { mean: Float32Array, invStd: Float32Array } {
    const n = Math.max(1, this.count)
    const mean = Float32Array.from(this.sums, (s) => s / n)
    const invStd = Float32Array.from(this.squares, (s, k) => 1 / Math.sqrt(Math.max(0, s / n - mean[k] * mean[k]) + 1e-5))
    return { mean, invStd }
  }
}

/**
 * Patch-feature maps [C, h, w] of each image, as /segment and /depth see them: native size up to the dense cap,
 * through the serving batcher in its lulls (serving-gate.ts).
 */
export async function extractDense (engine: Engine, images: Buffer[], store: FeatureStore, statistics: ChannelStatistics | undefined,
  signal: AbortSignal | undefined, onImages: (done: number) => void): Promise<DenseSample[]> {
  const samples: DenseSample[] = []
  const registers = engine.backbone.registers
  for await (const encoded of encodedInLulls(engine, images, async (bytes, context) => engine.prepareDense(bytes, { kind: 'native' }, context), signal)) {
    for (const e of encoded) {
      const grid = patchGrid(e.output, registers, e.grid.height, e.grid.width)
      statistics?.add(grid, e.grid.height * e.grid.width)
      samples.push({ feature: store.add(grid), geometry: e.geometry, gridHeight: e.grid.height, gridWidth: e.grid.width })
    }
    onImages(samples.length)
  }
  return samples
}

export interface GlobalSample {
  /** CLS ⊕ mean of the patch tokens, [2C]. */
  vector: Float32Array
  /** For running the exported head: CLS [C] and the patch grid [C, h, w]. */
  cls: Float32Array
  feature?: number
  gridHeight: number
  gridWidth: number
}

/** CLS and mean patch token at the processor's size, exactly what /embed computes; the grid kept when asked (held-out images). */
export async function extractGlobal (engine: Engine, images: Buffer[], store: FeatureStore | undefined,
  signal: AbortSignal | undefined, onImages: (done: number) => void): Promise<GlobalSample[]> {
  const samples: GlobalSample[] = []
  const registers = engine.backbone.registers
  for await (const encoded of encodedInLulls(engine, images, async (bytes, context) => engine.prepareForEmbedding(bytes, context), signal)) {
    for (const e of encoded) {
      const vector = poolTokens(e.output, registers, 'cls+mean', false)
      samples.push({
        vector,
        cls: vector.slice(0, e.output.channels),
        feature: store?.add(patchGrid(e.output, registers, e.grid.height, e.grid.width)),
        gridHeight: e.grid.height,
        gridWidth: e.grid.width
      })
    }
    onImages(samples.length)
  }
  return samples
}
