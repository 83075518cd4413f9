/**
 * The heavy post-processing of answers, as pure functions of plain data: they run on the post-processing pool's
 * threads (pool.ts), never on the HTTP event loop. At 12 megapixels a 150-class argmax takes seconds and a PNG of
 * the result a second more; a liveness probe must not wait for that.
 */
import { endianness } from 'node:os'
import { depthColourPng, depthPng16 } from '../../image/depth-picture.js'
import { labelPng, overlayPicture } from '../../image/label-picture.js'
import { encodeNpy, npyHeader } from '../../image/npy.js'
import { labelPalette } from '../../image/palette.js'
import { encodeRgb8 } from '../../image/png.js'
import { featurePicture } from '../feature-picture.js'
import type { RgbPixels } from '../../image/decode.js'
import { blendWindow, finishCanvas, type BlendCanvas, type BlendPlan } from '../dense/blend.js'
import type { InputGeometry, Point, Size } from '../geometry.js'
import { toPixelTensor } from '../normalize.js'
import { resampleArgmax, resampleBilinear, samplingFor, type PlanarMap } from '../resample.js'
import { patchGrid } from '../tokens.js'

export interface LabelJob {
  logits: PlanarMap
  geometry: InputGeometry
  classes: number
  /** none: the class counts only; png: the label PNG; overlay: `picture` (8-bit RGB at the input's size) tinted. */
  picture: 'none' | 'png' | 'overlay'
  original?: Uint8Array
}

export interface LabelResult {
  /** Pixels per class at the input's size. */
  counts: number[]
  png?: Uint8Array
}

/** Logits resampled bilinearly onto the input's pixels, the best class per pixel, its counts and its picture. */
export function labels (job: LabelJob): LabelResult {
  const { width, height } = job.geometry.original
  const map = resampleArgmax(job.logits, samplingFor(job.geometry, job.logits.width, job.logits.height), width, height)
  const counts = new Array<number>(job.classes).fill(0)
  for (let i = 0; i < map.length; i++) counts[map[i]] += 1
  if (job.picture === 'png') return { counts, png: labelPng(map, width, height, job.classes) }
  if (job.picture === 'overlay') {
    if (job.original === undefined) throw new Error('an overlay needs the original picture')
    return { counts, png: encodeRgb8(overlayPicture(job.original, map, labelPalette(job.classes)), width, height) }
  }
  return { counts }
}

export interface DepthJob {
  depth: PlanarMap
  geometry: InputGeometry
  /** values: float32 [H, W]; npy: the same as a .npy file; png16: 16-bit PNG with its mapping; colour: turbo RGB PNG. */
  output: 'values' | 'npy' | 'png16' | 'colour'
  unit: string
}

export interface DepthResult {
  min: number
  max: number
  mean: number
  width: number
  height: number
  values?: Float32Array
  bytes?: Uint8Array
  /** png16: depth = offset + scale · value. */
  scale?: number
  offset?: number
}

/** The head's depth resampled bilinearly onto the input's pixels, with its range, encoded as asked. */
export function depth (job: DepthJob): DepthResult {
  const { width, height } = job.geometry.original
  const sampling = samplingFor(job.geometry, job.depth.width, job.depth.height)
  // For npy the values are resampled straight into the file's buffer, after its header: no second copy.
  const header = job.output === 'npy' && endianness() === 'LE' ? npyHeader('<f4', [height, width]) : undefined
  const file = header === undefined ? undefined : new Uint8Array(header.length + width * height * 4)
  const values = file === undefined
    ? resampleBilinear(job.depth, sampling, width, height)
    : resampleBilinear(job.depth, sampling, width, height, undefined, new Float32Array(file.buffer, (header as Buffer).length, width * height))
  let min = Infinity
  let max = -Infinity
  let sum = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v < min) min = v
    if (v > max) max = v
    sum += v
  }
  const stats = { min, max, mean: sum / values.length, width, height }
  if (file !== undefined) {
    file.set(header as Buffer)
    return { ...stats, bytes: file }
  }
  if (job.output === 'png16') {
    const { png, scale, offset } = depthPng16(values, width, height, min, max, job.unit)
    return { ...stats, bytes: png, scale, offset }
  }
  if (job.output === 'colour') return { ...stats, bytes: depthColourPng(values, width, height, min, max) }
  if (job.output === 'npy') return { ...stats, bytes: encodeNpy(values, [height, width]) }
  return { ...stats, values }
}

export interface FeaturePictureJob {
  features: PlanarMap
  geometry: InputGeometry
}

/** The first three principal components of a feature map as an RGB PNG at the input's size. */
export function featurePng (job: FeaturePictureJob): { png: Uint8Array } {
  const picture = featurePicture(job.features, job.geometry)
  return { png: encodeRgb8(picture.rgb, picture.width, picture.height) }
}

export interface NormaliseJob {
  image: RgbPixels
  table: Float32Array[]
  /** The tensor's size: the image padded to the patch grid, or a tiling window. */
  padded: Size
  /** Where each tensor's top-left lies in the image, one tensor per origin (the windows of a strip); by default the image's. */
  origins?: Point[]
}

/** A decoded image, or windows of it, as the model's normalised CHW tensors (see normalize.ts), one per origin. */
export function normalise (job: NormaliseJob): Float32Array[] {
  const { image, table, padded, origins = [{ x: 0, y: 0 }] } = job
  return origins.map((origin) => toPixelTensor(image, table, padded, undefined, origin))
}

export interface BlendJob {
  canvas: BlendCanvas
  plan: BlendPlan
  /** One map per window, blended in this order. */
  maps: PlanarMap[]
  origins: Point[]
}

/** A batch of windows' maps added into a tiled target's canvas (see blend.ts), in place where it is shared. */
export function blend (job: BlendJob): BlendCanvas {
  job.maps.forEach((map, i) => blendWindow(job.canvas, job.plan, map, job.origins[i]))
  return job.canvas
}

export interface BlendTokensJob {
  canvas: BlendCanvas
  plan: BlendPlan
  /** Each window's backbone output, [tokens, C]: the global token and the registers, then the patch grid's rows. */
  tokens: Float32Array[]
  channels: number
  registers: number
  /** The patch grid of a window. */
  grid: Size
  origins: Point[]
}

/** The features target of a tiled pass: each window's tokens as its [C, h, w] patch grid, added into the canvas. */
export function blendTokens (job: BlendTokensJob): BlendCanvas {
  const { channels, registers, grid } = job
  job.tokens.forEach((tokens, i) => {
    const data = patchGrid({ tokens, tokenCount: tokens.length / channels, channels }, registers, grid.height, grid.width)
    blendWindow(job.canvas, job.plan, { data, planes: channels, ...grid }, job.origins[i])
  })
  return job.canvas
}

export interface JsonNumbersJob {
  /** JSON text written before and after the array. */
  before: string
  values: Float32Array
  after: string
}

/**
 * `before`, the values as a JSON array and `after`, as UTF-8 bytes: the array is exactly what JSON.stringify writes
 * for the values as numbers (the shortest decimal that reads back as the same double; null for NaN and ±Infinity).
 * A feature map of a million values is some 20 MB of text and half a second of work.
 */
export function jsonNumbers (job: JsonNumbersJob): Uint8Array {
  return Buffer.from(job.before + JSON.stringify(Array.from(job.values)) + job.after)
}

export const jobs = { labels, depth, featurePng, normalise, blend, blendTokens, finishBlend: finishCanvas, jsonNumbers }
export type JobName = keyof typeof jobs
export type JobInput<N extends JobName> = Parameters<typeof jobs[N]>[0]
export type JobOutput<N extends JobName> = ReturnType<typeof jobs[N]>
