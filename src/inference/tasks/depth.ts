import { badRequest } from '../../errors.js'
import type { RasterOptions } from '../../image/geotiff/raster-options.js'
import type { TiffChunks } from '../../image/geotiff/tiff-writer.js'
import { encodeNpyParts } from '../../image/npy.js'
import type { DenseImage } from '../dense/dense-image.js'
import { runDense, type DenseMode } from '../dense/run-dense.js'
import { headTarget } from '../dense/targets.js'
import type { Engine } from '../engine.js'
import type { InputGeometry } from '../geometry.js'
import type { Head } from '../heads/head.js'
import type { DepthJob, DepthResult } from '../post-pool/jobs.js'
import { owning } from '../post-pool/movable.js'
import type { PlanarMap } from '../resample.js'
import type { RequestContext } from '../stages.js'
import { depthTiff } from './geotiff-output.js'
import { asBuffer } from './segment.js'

export type DepthFormat = 'npy' | 'png' | 'color' | 'tiff'

export interface DepthOptions {
  head: Head
  mode: DenseMode
  format: DepthFormat
  /** How a TIFF's bands become the model's RGB (band choice, stretch). */
  raster?: RasterOptions
}

export interface DepthAnswer {
  unit: string
  /** The first image's. */
  geometry: InputGeometry
  min?: number
  max?: number
  /** png: depth = offset + scale · value. */
  scale?: number
  offset?: number
  body?: Buffer
  /** format=tiff: the GeoTIFF's chunks, written tile row by tile row from the head-resolution map. */
  tiff?: TiffChunks
}

/** The head's depth resampled bilinearly onto the input's pixels, with its range, on the post-processing pool. */
export async function depthImage (engine: Engine, image: DenseImage, map: PlanarMap, output: DepthJob['output'], unit: string, context: RequestContext): Promise<DepthResult> {
  const work = engine.post.run('depth', { depth: { ...map, data: owning(map.data) }, geometry: image.geometry, output, unit })
  return context.times.time('postprocess', async () => work)
}

export async function depth (engine: Engine, images: Buffer[], options: DepthOptions, context: RequestContext): Promise<DepthAnswer> {
  const { head, format } = options
  if (format !== 'npy' && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use format=npy for a batch`)
  const unit = head.unit ?? 'relative'
  context.raster = options.raster
  const results = await runDense(engine, images, options.mode, [headTarget(head)], context)
  if (format === 'tiff') {
    const tiff = await context.times.time('postprocess', async () => depthTiff(results[0], results[0].maps[0], unit))
    return { unit, geometry: results[0].geometry, tiff }
  }
  const output = format === 'png' ? 'png16' : format === 'color' ? 'colour' : images.length === 1 ? 'npy' : 'values'
  const maps = await Promise.all(results.map(async (image) => depthImage(engine, image, image.maps[0], output, unit, context)))
  const [first] = maps
  const answer = { unit, geometry: results[0].geometry, min: first.min, max: first.max }
  if (output !== 'values') return { ...answer, scale: first.scale, offset: first.offset, body: asBuffer(first.bytes as Uint8Array) }
  if (maps.some((m) => m.width !== first.width || m.height !== first.height)) {
    throw badRequest('the images differ in size, which one .npy cannot stack; send them separately')
  }
  return { ...answer, body: encodeNpyParts(maps.map((m) => m.values as Float32Array), [maps.length, first.height, first.width]) }
}
