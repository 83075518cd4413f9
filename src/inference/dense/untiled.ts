import type { Engine } from '../engine.js'
import type { DenseSize } from '../geometry.js'
import type { RequestContext } from '../stages.js'
import type { DenseImage } from './dense-image.js'
import { targetMaps } from './target-maps.js'
import type { DenseTarget } from './targets.js'

/**
 * One backbone pass per image (the images of a request batched together), every target computed from it:
 * images of the same input size share their head runs too.
 */
export async function denseUntiled (engine: Engine, images: Buffer[], size: DenseSize, targets: DenseTarget[], context: RequestContext): Promise<DenseImage[]> {
  const encoded = await engine.encodeImages(images, async (bytes) => engine.prepareDense(bytes, size, context), context)
  const results: DenseImage[] = encoded.map((e) => ({ header: e.header, geometry: e.geometry, maps: [], output: e.output }))
  const groups = new Map<string, number[]>()
  encoded.forEach((e, i) => {
    const key = `${e.geometry.padded.width}x${e.geometry.padded.height}`
    groups.set(key, [...(groups.get(key) ?? []), i])
  })
  for (const members of groups.values()) {
    const first = encoded[members[0]]
    const maps = await context.times.time('inference', () => targetMaps({
      outputs: members.map((i) => encoded[i].output),
      pixels: members.map((i) => encoded[i].pixels),
      registers: engine.backbone.registers,
      gridHeight: first.grid.height,
      gridWidth: first.grid.width,
      height: first.geometry.padded.height,
      width: first.geometry.padded.width
    }, targets))
    members.forEach((imageIndex, position) => {
      results[imageIndex].maps = maps.map((perItem) => perItem[position])
    })
  }
  return results
}
