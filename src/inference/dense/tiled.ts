import { decodeRgb } from '../../image/decode.js'
import type { Engine } from '../engine.js'
import type { RequestContext } from '../stages.js'
import { MapAccumulator } from './blend.js'
import type { DenseImage } from './dense-image.js'
import { targetMaps } from './target-maps.js'
import type { DenseTarget } from './targets.js'
import { windowPixels } from './window-pixels.js'
import { planWindows, type Tiling } from './window-plan.js'

/**
 * Sliding-window inference at native resolution: windows go through the backbone in batches (bounded by
 * TILE_BATCH_PIXELS), each batch's maps are blended into canvas-sized maps at once, and nothing of full image
 * resolution is held but the decoded 8-bit image. Other requests' work interleaves between the batches.
 */
export async function denseTiled (engine: Engine, bytes: Buffer, tiling: Tiling, targets: DenseTarget[], context: RequestContext): Promise<DenseImage> {
  const header = await engine.header(bytes, context)
  const patch = engine.patchSize
  const plan = planWindows(header, tiling, patch, engine.denseMaxSide)
  const image = await context.times.time('decode', () => decodeRgb(bytes, header, { kind: 'none' }, engine.decodeOptions))
  const accumulators = targets.map(() => new MapAccumulator(plan))
  const perBatch = Math.max(1, Math.floor(engine.tileBatchPixels / (plan.window.width * plan.window.height)))
  const table = engine.normalisationTable

  for (let start = 0; start < plan.origins.length; start += perBatch) {
    context.signal?.throwIfAborted()
    const origins = plan.origins.slice(start, start + perBatch)
    const pixels = await context.times.time('preprocess', () => origins.map((origin) => windowPixels(image, table, origin, plan.window)))
    const outputs = await engine.encodePixels(pixels.map((p) => ({ pixels: p, ...plan.window })), context)
    const maps = await context.times.time('inference', () => targetMaps({
      outputs,
      pixels,
      registers: engine.backbone.registers,
      gridHeight: plan.window.height / patch,
      gridWidth: plan.window.width / patch,
      height: plan.window.height,
      width: plan.window.width
    }, targets))
    await context.times.time('postprocess', () => {
      maps.forEach((perWindow, t) => perWindow.forEach((map, w) => accumulators[t].add(map, origins[w])))
    })
  }
  const maps = await context.times.time('postprocess', () => accumulators.map((a) => a.finish()))
  const original = { width: header.width, height: header.height }
  return { header, geometry: { original, content: original, padded: plan.canvas }, maps }
}
