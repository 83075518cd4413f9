import { decodeRows, type RgbPixels } from '../../image/decode.js'
import type { Engine } from '../engine.js'
import type { RequestContext } from '../stages.js'
import { planStrips } from './decode-strips.js'
import { MapAccumulator } from './map-accumulator.js'
import type { DenseImage } from './dense-image.js'
import { targetMaps } from './target-maps.js'
import type { DenseTarget } from './targets.js'
import { planWindows, type Origin, type Tiling, type WindowPlan } from './window-plan.js'

/**
 * Sliding-window inference at native resolution: the image is decoded one strip of rows at a time (see
 * decode-strips.ts), windows go through the backbone in batches (bounded by TILE_BATCH_PIXELS), and each batch's maps are
 * blended at once into canvas-sized maps at the maps' resolution. Nothing of full image resolution is held.
 * Other requests' work interleaves between the batches. The windows' normalisation and the blending run on the
 * post-processing pool: for a 12-megapixel image they are tens of millions of samples.
 */
export async function denseTiled (engine: Engine, bytes: Buffer, tiling: Tiling, targets: DenseTarget[], context: RequestContext): Promise<DenseImage> {
  const header = await engine.header(bytes, context)
  const patch = engine.patchSize
  const plan = planWindows(header, tiling, patch, engine.denseMaxSide)
  const accumulators = targets.map(() => new MapAccumulator(plan, engine.post))
  const perBatch = Math.max(1, Math.floor(engine.tileBatchPixels / (plan.window.width * plan.window.height)))
  const rows = [...new Set(plan.origins.map((o) => o.y))]

  const strips = planStrips(rows, plan.window.height, header, engine.stripPixels)
  // One strip is decoded at a time, and one batch of windows normalised: that is what the request holds against the
  // budget, a strip's pixel counted as a quarter of a model-input pixel (3 bytes against about 15; 6 while the strip
  // and its copy in shared memory are both held, below).
  engine.pixels.take(Math.ceil(Math.max(...strips.map((s) => s.height)) * header.width / 4) + perBatch * plan.window.width * plan.window.height, context)
  for (const strip of strips) {
    context.signal?.throwIfAborted()
    const decoded = await context.times.time('decode', () => decodeRows(bytes, header, strip.top, strip.height, engine.decodeOptions))
    // Pool threads read the windows of every batch out of the strip. libvips' buffers cannot be detached, so a
    // transfer would copy the strip on every trip; one copy into shared memory serves every batch. It is made a
    // row of windows at a time, as the windows reach down: at once, 18 MB held the loop for 20 ms on a busy machine.
    const shared = new Uint8Array(new SharedArrayBuffer(decoded.data.byteLength))
    const pixels: RgbPixels = { ...decoded, data: shared }
    const rowBytes = decoded.width * 3
    let copied = 0
    for (const top of strip.rows) {
      const bottom = Math.min(top - strip.top + plan.window.height, decoded.height)
      shared.set(decoded.data.subarray(copied * rowBytes, bottom * rowBytes), copied * rowBytes)
      copied = Math.max(copied, bottom)
      const row = plan.origins.filter((o) => o.y === top)
      for (let start = 0; start < row.length; start += perBatch) {
        await runWindows(engine, pixels, strip.top, row.slice(start, start + perBatch), plan, targets, accumulators, context)
      }
    }
  }
  const maps = await context.times.time('postprocess', async () => Promise.all(accumulators.map(async (a) => a.finish())))
  const original = { width: header.width, height: header.height }
  return { header, geometry: { original, content: original, padded: plan.canvas }, maps }
}

/**
 * One batch of windows of a strip (its first row at `stripTop`): normalise, run the backbone and the targets, start
 * blending their maps in.
 */
async function runWindows (engine: Engine, strip: RgbPixels, stripTop: number, origins: Origin[], plan: WindowPlan, targets: DenseTarget[], accumulators: MapAccumulator[], context: RequestContext): Promise<void> {
  context.signal?.throwIfAborted()
  const patch = engine.patchSize
  const inStrip = origins.map((origin) => ({ x: origin.x, y: origin.y - stripTop }))
  const pixels = await context.times.time('preprocess', async () => engine.normalise(strip, plan.window, inStrip))
  const outputs = await engine.encodePixels(pixels.map((p) => ({ pixels: p, ...plan.window })), context)
  const registers = engine.backbone.registers
  const grid = { height: plan.window.height / patch, width: plan.window.width / patch }
  // The features target's maps are the windows' patch grids, which the pool makes from the tokens as it blends them.
  const heads = targets.filter((target) => target.kind === 'head')
  const headMaps = heads.length === 0
    ? []
    : await context.times.time('inference', () => targetMaps({
      outputs,
      pixels,
      registers,
      gridHeight: grid.height,
      gridWidth: grid.width,
      height: plan.window.height,
      width: plan.window.width
    }, heads))
  await context.times.time('postprocess', async () => Promise.all(targets.map(async (target, t) => target.kind === 'features'
    ? accumulators[t].addTokens(outputs, registers, grid, origins)
    : accumulators[t].add(headMaps[heads.indexOf(target)], origins))))
}
