import { badRequest } from '../../errors.js'
import type { RasterOptions } from '../../image/geotiff/raster-options.js'
import type { TiffChunks } from '../../image/geotiff/tiff-writer.js'
import { npyFileParts } from '../../image/npy.js'
import { runDense, type DenseMode } from '../dense/run-dense.js'
import { featuresTarget } from '../dense/targets.js'
import type { Engine } from '../engine.js'
import { padding, type InputGeometry } from '../geometry.js'
import { owning } from '../post-pool/movable.js'
import type { RequestContext } from '../stages.js'
import { pcaTiff } from './geotiff-output.js'
import { asBuffer } from './segment.js'

export type FeaturesFormat = 'npy' | 'json' | 'png' | 'tiff'

export interface FeatureMap {
  /** [C, h, w] */
  shape: [number, number, number]
  geometry: InputGeometry
  data: Float32Array
}

export interface FeaturesAnswer {
  /** The first image's. */
  geometry: InputGeometry
  /**
   * npy and json: the answer's bytes in parts, to send one after the other (never joined: a tiled map is tens of
   * megabytes). npy: the header, then each map as it lies; json: one part per image, written on the pool.
   */
  parts?: Uint8Array[]
  /** png: the PCA picture. */
  body?: Buffer
  /** format=tiff: the PCA picture as a GeoTIFF (RGB and alpha), written tile row by tile row. One image. */
  tiff?: TiffChunks
}

/** Dense feature maps [C, h, w] over each image's padded input (its patch grid), tiled or not, as asked. */
export async function features (engine: Engine, images: Buffer[], options: { mode: DenseMode, format: FeaturesFormat, raster?: RasterOptions }, context: RequestContext): Promise<FeaturesAnswer> {
  const { format } = options
  if ((format === 'png' || format === 'tiff') && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use npy or json for a batch`)
  context.raster = options.raster
  const results = await runDense(engine, images, options.mode, [featuresTarget], context)
  const geometry = results[0].geometry
  if (format === 'tiff') {
    const tiff = await context.times.time('postprocess', async () => pcaTiff(results[0], results[0].maps[0]))
    return { geometry, tiff }
  }
  if (format === 'png') {
    const [map] = results[0].maps
    const work = engine.post.run('featurePng', { features: { ...map, data: owning(map.data) }, geometry })
    const { png } = await context.times.time('postprocess', async () => work)
    return { geometry, body: asBuffer(png) }
  }
  const maps: FeatureMap[] = results.map(({ maps: [map], geometry }) => ({ shape: [map.planes, map.height, map.width], geometry, data: map.data }))
  if (format === 'json') return { geometry, parts: await context.times.time('postprocess', async () => featuresJson(engine, maps)) }
  const [first] = maps
  if (maps.some((m) => m.shape[1] !== first.shape[1] || m.shape[2] !== first.shape[2])) {
    throw badRequest('the images give patch grids of different sizes, which one .npy cannot stack; ' +
      'send them separately, use format=json, or set size so they match')
  }
  const shape = maps.length === 1 ? first.shape : [maps.length, ...first.shape]
  return { geometry, parts: npyFileParts(maps.map((m) => m.data), shape) }
}

/**
 * The JSON answer `{"model", "images": [{"shape", "input", "model_input", "features"}]}`, one part per image. The
 * numbers are nearly all of it (a map of a million values is some 20 MB of text and half a second of work), so each
 * image's part is written on the post-processing pool, its map moving there; the rest is a few bytes written here.
 */
async function featuresJson (engine: Engine, maps: FeatureMap[]): Promise<Uint8Array[]> {
  return Promise.all(maps.map(async ({ shape, geometry, data }, i) => {
    const { original, padded } = geometry
    const image = JSON.stringify({
      shape,
      input: { width: original.width, height: original.height },
      model_input: { width: padded.width, height: padded.height, ...padding(geometry) }
    })
    const before = (i === 0 ? `{"model":${JSON.stringify(engine.folder.name)},"images":[` : ',') + image.slice(0, -1) + ',"features":'
    const after = i === maps.length - 1 ? '}]}' : '}'
    return engine.post.run('jsonNumbers', { before, values: owning(data), after })
  }))
}
