import sharp, { type Metadata, type Sharp } from 'sharp'
import { badRequest, ServiceError } from '../errors.js'
import type { ResizeKernel } from '../inference/processor.js'
import { GeoRaster } from './geotiff/geo-raster.js'
import { jpegInfo, type JpegInfo, seenSize } from './jpeg-header.js'
import { decodeJpegNatively, decodeJpegToTensor, decodesNatively, type NativeTarget, type TensorTarget } from './native-jpeg.js'
import type { RasterOptions } from './geotiff/raster-options.js'
import { type ImageFormat, sniffFormat } from './sniff-format.js'

export interface ImageHeader {
  format: ImageFormat
  /** After EXIF orientation: the size the client sees. */
  width: number
  height: number
  /** A TIFF that geotiff.js reads: its georeferencing and nodata, and its pixels where libvips would get them wrong. */
  raster?: GeoRaster
  /** A JPEG whose markers were read: what decides whether the native decoder may take it. */
  jpeg?: JpegInfo
}

/** 8-bit sRGB, 3 channels interleaved: what every model input starts from. */
export interface RgbImage {
  data: Buffer
  width: number
  height: number
}

/** The same pixels as any thread holds them: a Buffer sent to another thread arrives there as a plain Uint8Array. */
export type RgbPixels = Omit<RgbImage, 'data'> & { data: Uint8Array }

export interface DecodeOptions {
  maxPixels: number
  /** Plain JPEGs go to the native decoder where it is built (the default); false: libvips decodes every image. */
  nativeJpeg?: boolean
  /** Per request, for TIFFs: band choice and stretch to 8 bits (see geotiff/raster-options.ts). */
  raster?: RasterOptions
  /** The 8-bit RGB that nodata pixels are given: the model's mean colour, which normalises to zero. */
  nodataFill?: number[]
}

export type ResizePlan =
  | { kind: 'none' }
  | { kind: 'exact', width: number, height: number, kernel: ResizeKernel }
  /** Resize, then cut the centre region out (the processor's centre crop). */
  | { kind: 'cover-crop', width: number, height: number, crop: { width: number, height: number }, kernel: ResizeKernel }

/**
 * Reads only the header: format and size are known (and the pixel limit enforced) before a single pixel
 * is decoded, so that a PNG claiming 100000×100000 costs nothing.
 */
export async function readHeader (bytes: Buffer, options: DecodeOptions): Promise<ImageHeader> {
  const sniffed = sniffFormat(bytes)
  if (!sniffed.accepted) {
    throw new ServiceError('unsupported_media_type',
      `the body is ${sniffed.detected}, not an image this service decodes; send JPEG, PNG, WebP, TIFF, GIF or AVIF`)
  }
  const raster = sniffed.format === 'tiff' ? await GeoRaster.open(bytes, options.raster ?? {}, options.nodataFill ?? [0, 0, 0]) : undefined
  if (raster === undefined && (options.raster?.bands !== undefined || options.raster?.stretch !== undefined)) {
    throw badRequest(`bands and stretch apply to TIFF images (GeoTIFFs, 16-bit, multi-band); this is ${sniffed.format}`)
  }
  if (raster?.decodesPixels === true) return withinLimit({ format: sniffed.format, width: raster.width, height: raster.height, raster }, options)
  const jpeg = sniffed.format === 'jpeg' ? jpegInfo(bytes) : undefined
  if (jpeg !== undefined) return withinLimit({ format: sniffed.format, ...seenSize(jpeg), jpeg }, options)
  let metadata: Metadata
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch (error) {
    throw undecodable(sniffed.format, error)
  }
  const { width, height } = metadata.autoOrient ?? metadata
  if (width === undefined || height === undefined || width < 1 || height < 1) {
    throw new ServiceError('unprocessable_image', `the ${sniffed.format} header holds no image size`)
  }
  return withinLimit({ format: sniffed.format, width, height, raster }, options)
}

function withinLimit (header: ImageHeader, options: DecodeOptions): ImageHeader {
  const { width, height } = header
  if (width * height > options.maxPixels) {
    throw new ServiceError('payload_too_large',
      `the image is ${width}×${height} = ${(width * height / 1e6).toFixed(1)} megapixels; the limit is ${(options.maxPixels / 1e6).toFixed(1)} megapixels`)
  }
  return header
}

/** The one way an upload is opened for pixels: EXIF orientation applied, the first frame, read sequentially. */
function open (bytes: Buffer, options: DecodeOptions): Sharp {
  return sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'truncated', autoOrient: true, pages: 1, sequentialRead: true })
}

/**
 * To 8-bit sRGB RGB: CMYK and grayscale converted, alpha dropped (as the Hugging Face processors' convert-to-RGB
 * does), 16-bit reduced.
 */
async function toRgb (pipeline: Sharp, format: ImageFormat): Promise<RgbImage> {
  try {
    const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`)
    return { data, width: info.width, height: info.height }
  } catch (error) {
    throw undecodable(format, error)
  }
}

/** Decodes the whole image, resized as planned (libjpeg shrinks on load where the plan halves the size or more). */
export async function decodeRgb (bytes: Buffer, header: ImageHeader, plan: ResizePlan, options: DecodeOptions): Promise<RgbImage> {
  const target = options.nativeJpeg === false ? undefined : nativeTarget(header, plan)
  const native = target === undefined ? undefined : await decodeJpegNatively(bytes, target)
  if (native !== undefined) return native
  let pipeline = header.raster?.decodesPixels === true
    ? sharp(await header.raster.readRgb(0, header.height), { raw: { width: header.width, height: header.height, channels: 3 }, limitInputPixels: options.maxPixels })
    : open(bytes, options)
  if (plan.kind !== 'none' && (plan.width !== header.width || plan.height !== header.height)) {
    pipeline = pipeline.resize(plan.width, plan.height, { fit: 'fill', kernel: plan.kernel })
  }
  if (plan.kind === 'cover-crop') pipeline = pipeline.extract(centreCrop(plan))
  return toRgb(pipeline, header.format)
}

/** The plan as the native JPEG decoder takes it, where it may take this image at all. */
function nativeTarget (header: ImageHeader, plan: ResizePlan): NativeTarget | undefined {
  const kernel = plan.kind === 'none' ? 'linear' : plan.kernel
  if (!decodesNatively(header.jpeg, kernel)) return undefined
  const { orientation } = header.jpeg
  if (plan.kind === 'none') {
    return { orientation, width: header.width, height: header.height, kernel, crop: { left: 0, top: 0, width: header.width, height: header.height } }
  }
  const crop = plan.kind === 'cover-crop' ? centreCrop(plan) : { left: 0, top: 0, width: plan.width, height: plan.height }
  return { orientation, width: plan.width, height: plan.height, kernel, crop }
}

/** The processor's centre crop of the resized image. */
function centreCrop (plan: Extract<ResizePlan, { kind: 'cover-crop' }>): { left: number, top: number, width: number, height: number } {
  return { left: Math.floor((plan.width - plan.crop.width) / 2), top: Math.floor((plan.height - plan.crop.height) / 2), ...plan.crop }
}

/**
 * Decodes a plain JPEG as planned straight into the model's input tensor, normalised and padded, where the native
 * decoder takes it; undefined otherwise (the caller then decodes with decodeRgb and normalises).
 */
export async function decodeToTensor (bytes: Buffer, header: ImageHeader, plan: ResizePlan, options: DecodeOptions, tensor: TensorTarget): Promise<Float32Array | undefined> {
  const target = options.nativeJpeg === false ? undefined : nativeTarget(header, plan)
  return target === undefined ? undefined : await decodeJpegToTensor(bytes, target, tensor)
}

/**
 * Decodes one horizontal band of rows, at native size. libvips reads the file sequentially and keeps only the rows
 * asked for, so a tiled pass over a huge image holds one strip, not the whole decoded picture. Each call decodes
 * from the file's first row: callers ask for few, large bands (decode-strips.ts).
 */
export async function decodeRows (bytes: Buffer, header: ImageHeader, top: number, height: number, options: DecodeOptions): Promise<RgbImage> {
  if (header.raster?.decodesPixels === true) return { data: await header.raster.readRgb(top, height), width: header.width, height }
  return toRgb(open(bytes, options).extract({ left: 0, top, width: header.width, height }), header.format)
}

function undecodable (format: ImageFormat, error: unknown): ServiceError {
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return new ServiceError('unprocessable_image', `the ${format} image cannot be decoded (${reason}); is the file complete?`)
}
