import type { PostPool } from '../post-pool/pool.js'
import type { PlanarMap } from '../resample.js'
import type { TokenOutput } from '../batcher.js'
import type { Size } from '../geometry.js'
import { checkWindow, newCanvas, type BlendCanvas, type BlendPlan, type MapShape } from './blend.js'
import type { Origin, WindowPlan } from './window-plan.js'

/**
 * Blends one target's window maps into one map over the canvas (blend.ts) on the post-processing pool. At
 * 4000×3000 a feature map of 384 channels is 18 million cells, whose final division alone took about 100 ms on the
 * event loop. The canvas lies in shared memory: handed to a thread and back with every batch, each return would be
 * a new tens-of-megabytes buffer to the event loop's heap, which answers such growth with a full collection
 * (`--trace-gc` of a server's run serving one 3000×2000 tiled /features of 384 channels: 17 full collections and 462 ms
 * of pauses with the canvas and the strip handed back and forth, 8 and 187 ms shared). One batch blends while the
 * next runs through the backbone; batches are blended in order, one at a time, so the sums are those of the windows
 * added one after the other, bit for bit.
 */
export class MapAccumulator {
  private canvas: BlendCanvas | undefined
  private blending: Promise<unknown> = Promise.resolve()
  private readonly plan: BlendPlan

  constructor (plan: WindowPlan, private readonly pool: PostPool) {
    this.plan = { canvas: plan.canvas, window: plan.window, overlap: plan.overlap }
  }

  /**
   * Starts blending a batch of windows' maps in, once the previous batch is blended (its failure surfaces here).
   * The maps' buffers move to the pool thread: the caller gives them up (a head's output for the batch, whose
   * maps are views of one buffer, moves whole). A map that cannot be tiled is refused here (400), before any move.
   */
  async add (maps: PlanarMap[], origins: Origin[]): Promise<void> {
    const buffers = [...new Set(maps.map((map) => map.data.buffer))].filter((buffer) => buffer instanceof ArrayBuffer)
    await this.start(maps, origins, async (canvas) => this.pool.run('blend', { canvas, plan: this.plan, maps, origins }, buffers))
  }

  /**
   * The same for the features target, from each window's backbone tokens: the pool thread turns them into the
   * window's patch grid, a transposition that took some 20 ms of the event loop per batch of 16 windows of 384
   * channels. The tokens are copied out of their batch's output (whose buffer other images' tokens share).
   */
  async addTokens (outputs: TokenOutput[], registers: number, grid: Size, origins: Origin[]): Promise<void> {
    const channels = outputs[0].channels
    const shape = { planes: channels, ...grid }
    await this.start(origins.map(() => shape), origins, async (canvas) => this.pool.run('blendTokens', {
      canvas, plan: this.plan, tokens: outputs.map((o) => o.tokens.slice(0, o.tokenCount * channels)), channels, registers, grid, origins
    }))
  }

  /** The blended map, divided on the pool; the canvas's sums become its data (shared memory, never copied). */
  async finish (): Promise<PlanarMap> {
    await this.blending
    if (this.canvas === undefined) throw new Error('no window was added')
    const canvas = this.canvas
    this.canvas = undefined
    return this.pool.run('finishBlend', canvas)
  }

  /** Waits for the previous batch, checks this one's maps (400 for one that cannot be tiled), then starts its blend. */
  private async start (shapes: MapShape[], origins: Origin[], blend: (canvas: BlendCanvas) => Promise<unknown>): Promise<void> {
    await this.blending
    const canvas = this.canvas ?? newCanvas(this.plan, shapes[0], true)
    shapes.forEach((shape, i) => checkWindow(canvas, this.plan, shape, origins[i]))
    this.canvas = canvas
    this.blending = blend(canvas)
    // Awaited by the next batch or by finish; a request that stops before then leaves it unobserved, not unhandled.
    this.blending.catch(() => {})
  }
}
