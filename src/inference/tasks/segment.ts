import { badRequest } from '../../errors.js'
import type { RasterOptions } from '../../image/geotiff/raster-options.js'
import type { TiffChunks } from '../../image/geotiff/tiff-writer.js'
import { hexColour, labelPalette } from '../../image/palette.js'
import type { DenseImage } from '../dense/dense-image.js'
import { runDense, type DenseMode } from '../dense/run-dense.js'
import { headTarget } from '../dense/targets.js'
import type { Engine } from '../engine.js'
import type { InputGeometry } from '../geometry.js'
import type { Head } from '../heads/head.js'
import { owning } from '../post-pool/movable.js'
import type { PlanarMap } from '../resample.js'
import type { RequestContext } from '../stages.js'
import { labelTiff } from './geotiff-output.js'

export type SegmentFormat = 'png' | 'json' | 'overlay' | 'tiff'

export interface SegmentOptions {
  head: Head
  mode: DenseMode
  format: SegmentFormat
  /** How a TIFF's bands become the model's RGB (band choice, stretch). */
  raster?: RasterOptions
}

export interface ClassSummary {
  index: number
  label: string
  pixels: number
  fraction: number
  colour: string
}

export interface SegmentAnswer {
  /** The first image's: how its answer maps onto it. */
  geometry: InputGeometry
  images: Array<{ width: number, height: number, classes: ClassSummary[] }>
  /** png: the label PNG; overlay: the tinted picture. One image. */
  png?: Buffer
  /** format=tiff: the label GeoTIFF's chunks, written tile row by tile row from the head-resolution logits. One image. */
  tiff?: TiffChunks
}

/** The classes present, most pixels first, with their overlay colours. */
export function summariseClasses (counts: number[], names: string[]): ClassSummary[] {
  const palette = labelPalette(names.length)
  const total = counts.reduce((sum, n) => sum + n, 0)
  return counts
    .map((pixels, index) => ({ index, label: names[index], pixels, fraction: pixels / total, colour: hexColour(palette, index) }))
    .filter((c) => c.pixels > 0)
    .sort((a, b) => b.pixels - a.pixels)
}

/**
 * Logits resampled bilinearly onto the input's pixels, then the best class per pixel (never an upsampled label
 * grid), on the post-processing pool. The overlay decodes the original picture again, at its own size.
 */
export async function labelImage (engine: Engine, image: DenseImage, logits: PlanarMap, classes: number, picture: 'none' | 'png' | 'overlay', original?: Uint8Array, context?: RequestContext): Promise<{ counts: number[], png?: Buffer }> {
  const work = engine.post.run('labels', { logits: { ...logits, data: owning(logits.data) }, geometry: image.geometry, classes, picture, original })
  const result = await (context === undefined ? work : context.times.time('postprocess', async () => work))
  return { counts: result.counts, png: result.png === undefined ? undefined : asBuffer(result.png) }
}

export async function segment (engine: Engine, images: Buffer[], options: SegmentOptions, context: RequestContext): Promise<SegmentAnswer> {
  const { head, format } = options
  if (format !== 'json' && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use format=json for a batch`)
  const names = head.labels ?? []
  context.raster = options.raster
  const results = await runDense(engine, images, options.mode, [headTarget(head)], context)
  if (format === 'tiff') {
    const tiff = await context.times.time('postprocess', async () => labelTiff(results[0], results[0].maps[0], names.length))
    return { geometry: results[0].geometry, images: [], tiff }
  }
  const original = format === 'overlay'
    ? (await engine.decodeOriginal(images[0], results[0].header, context)).data
    : undefined
  const picture = format === 'json' ? 'none' : format as 'png' | 'overlay'
  const labelled = await Promise.all(results.map(async (image) => labelImage(engine, image, image.maps[0], names.length, picture, original, context)))
  return {
    geometry: results[0].geometry,
    images: results.map((image, i) => ({ ...image.geometry.original, classes: summariseClasses(labelled[i].counts, names) })),
    png: labelled[0].png
  }
}

export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
