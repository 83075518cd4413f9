import type { TokenOutput } from '../batcher.js'
import type { HeadFeeds } from '../heads/head.js'
import { joinFloat32 } from '../join.js'
import type { PlanarMap } from '../resample.js'
import { patchGrid } from '../tokens.js'
import type { DenseTarget } from './targets.js'

/** A batch of images (or windows) of one size that went through the backbone together. */
export interface EncodedBatch {
  outputs: TokenOutput[]
  /** Their normalised pixels, [3, height, width] each: end-to-end heads take these instead of tokens. */
  pixels: Float32Array[]
  registers: number
  gridHeight: number
  gridWidth: number
  height: number
  width: number
}

/**
 * Turns one batch's tokens into a map per target and item: the patch grid itself, or a head run over the whole
 * batch at once. Every map covers the item's padded input.
 */
export async function targetMaps (batch: EncodedBatch, targets: DenseTarget[]): Promise<PlanarMap[][]> {
  const grids = batch.outputs.map((o) => patchGrid(o, batch.registers, batch.gridHeight, batch.gridWidth))
  const channels = batch.outputs[0].channels
  const cells = batch.gridHeight * batch.gridWidth
  return Promise.all(targets.map(async (target) => {
    if (target.kind === 'features') {
      return grids.map((data) => ({ data, planes: channels, height: batch.gridHeight, width: batch.gridWidth }))
    }
    const head = target.head
    const feeds: HeadFeeds = {
      batch: grids.length,
      channels,
      gridHeight: batch.gridHeight,
      gridWidth: batch.gridWidth,
      height: batch.height,
      width: batch.width
    }
    if (head.inputs.includes('patch_features')) feeds.patchFeatures = joinFloat32(grids, channels * cells)
    if (head.inputs.includes('cls_token')) feeds.clsToken = joinFloat32(batch.outputs.map((o) => o.tokens), channels)
    if (head.inputs.includes('pixel_values')) feeds.pixels = joinFloat32(batch.pixels, 3 * batch.height * batch.width)
    const output = await head.run(feeds)
    const size = output.planes * output.height * output.width
    return grids.map((_, i) => ({
      data: output.data.subarray(i * size, (i + 1) * size),
      planes: output.planes,
      height: output.height,
      width: output.width
    }))
  }))
}
