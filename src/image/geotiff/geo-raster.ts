import GeoTIFF, { type GeoTIFFImage } from 'geotiff'
import { badRequest, ServiceError } from '../../errors.js'
import { readGeoReference, type GeoReference } from './geo-reference.js'
import { percentileOfHistogram, percentileOfSorted } from './percentile.js'
import { DEFAULT_STRETCH, type RasterOptions, type Stretch } from './raster-options.js'

/**
 * Percentiles are computed over every pixel of images up to this size; larger ones are sampled by whole blocks
 * (tiles or strips) spread evenly over the file, about this many pixels in all, so that the statistics cost a
 * small constant, not a second pass over a 400-megapixel scene (GDAL's approximate statistics do likewise).
 */
export const STATS_PIXELS = 4 * 1024 * 1024

/**
 * geotiff.js decodes and copies on the calling thread; windows are read in pieces of whole blocks of about this
 * many pixels, with the event loop let through between them, so that health checks and other requests keep
 * answering while a strip of a large scene decodes.
 */
const PIECE_PIXELS = 1024 * 1024

type Raster = ArrayLike<number>

/** Values → 8 bits: out = round((v − low) · scale), clamped to 0..255. */
interface BandScale { low: number, scale: number }

/**
 * A TIFF read with geotiff.js: its georeferencing and nodata for the output, and, where the generic colour
 * conversion would be wrong (bands that are not 8-bit, more bands than RGB, nodata, a band choice or a stretch
 * asked for), windows of rows decoded to the 8-bit RGB the model takes: the chosen bands stretched, nodata pixels
 * filled with the model's mean colour (which normalises to zero).
 */
export class GeoRaster {
  private scales: Promise<BandScale[]> | undefined
  /**
   * The nodata mask of the rows read so far, one bit a pixel (50 MB for 20000 × 20000), so that the output is
   * masked without decoding the file a second time.
   */
  private mask: Uint8Array | undefined
  private rowsMasked: Uint8Array | undefined

  private constructor (
    private readonly image: GeoTIFFImage,
    readonly geo: GeoReference | undefined,
    /** GDAL_NODATA as written (kept for the output's documentation), and as a number. */
    readonly nodata: number | undefined,
    /** Whether this reader decodes the pixels (else libvips does, as for any TIFF). */
    readonly decodesPixels: boolean,
    /** 0-based samples read for R, G, B (one for grey). */
    readonly samples: number[],
    private readonly stretch: Stretch,
    private readonly fill: number[]
  ) {}

  get width (): number { return this.image.getWidth() }
  get height (): number { return this.image.getHeight() }
  get bandCount (): number { return this.image.getSamplesPerPixel() }

  /** Undefined where geotiff.js cannot read the file: then it is an ordinary TIFF for libvips. */
  static async open (bytes: Buffer, options: RasterOptions, fill: number[]): Promise<GeoRaster | undefined> {
    let image: GeoTIFFImage
    try {
      const tiff = await GeoTIFF.fromSource(bufferSource(bytes))
      image = await tiff.getImage(0)
    } catch {
      return undefined
    }
    const directory = image.getFileDirectory()
    const geo = await readGeoReference(directory)
    const nodata = parseNodata(directory.hasTag('GDAL_NODATA') ? String(await directory.loadValue('GDAL_NODATA')) : undefined)
    const bandCount = image.getSamplesPerPixel()
    const photometric = Number(directory.getValue('PhotometricInterpretation') ?? 1)
    const orientation = Number(directory.hasTag('Orientation') ? await directory.loadValue('Orientation') : 1)
    const byteBands = Array.from({ length: bandCount }, (_, i) => image.getBitsPerSample(i) === 8 && image.getSampleFormat(i) === 1).every(Boolean)
    const asked = options.bands !== undefined || options.stretch !== undefined
    const readable = (photometric === 1 || photometric === 2) && orientation === 1
    const needed = asked || nodata !== undefined || !byteBands || (photometric === 1 && bandCount > 2) || bandCount > 4
    if (asked && !readable) {
      throw badRequest(`bands and stretch apply to grey or multi-band TIFFs; this one's photometric interpretation is ${photometric}` +
        (orientation === 1 ? '' : ` and its orientation ${orientation}`))
    }
    const bands = options.bands ?? (bandCount >= 3 ? [1, 2, 3] : [1])
    const missing = bands.filter((b) => b > bandCount)
    if (missing.length > 0) {
      throw badRequest(`bands=${bands.join(',')}: the image has ${bandCount} band${bandCount === 1 ? '' : 's'} (numbered from 1), so band ${missing[0]} does not exist`)
    }
    const stretch = options.stretch ?? (byteBands ? { kind: 'none' } : DEFAULT_STRETCH)
    return new GeoRaster(image, geo, nodata, readable && needed, bands.map((b) => b - 1), stretch, fill)
  }

  /** Rows top..top+height of the chosen bands as 8-bit RGB, interleaved, nodata filled. */
  async readRgb (top: number, height: number, signal?: AbortSignal): Promise<Buffer> {
    const scales = await this.bandScales(signal)
    const bands = await this.readWindow([0, top, this.width, top + height], signal)
    const mask = this.maskOf(bands)
    if (mask !== undefined) this.keepMask(mask, top, height)
    const pixels = this.width * height
    const rgb = Buffer.allocUnsafe(pixels * 3)
    for (let c = 0; c < 3; c++) {
      const band = bands.length === 1 ? 0 : c
      const values = bands[band]
      const { low, scale } = scales[band]
      const fill = this.fill[c]
      for (let i = 0; i < pixels; i++) {
        const v = (values[i] - low) * scale
        rgb[i * 3 + c] = mask?.[i] === 1 ? fill : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)
      }
    }
    return rgb
  }

  /** 1 where a pixel of rows top..top+height is nodata; undefined where the file can have none. */
  async readMask (top: number, height: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    if (!this.canHaveNodata) return undefined
    const kept = this.keptMask(top, height)
    return kept ?? this.maskOf(await this.readWindow([0, top, this.width, top + height], signal))
  }

  private keepMask (mask: Uint8Array, top: number, height: number): void {
    this.mask ??= new Uint8Array(Math.ceil(this.width * this.height / 8))
    this.rowsMasked ??= new Uint8Array(this.height)
    const bits = this.mask
    const start = top * this.width
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 1) bits[(start + i) >> 3] |= 1 << ((start + i) & 7)
    }
    this.rowsMasked.fill(1, top, top + height)
  }

  private keptMask (top: number, height: number): Uint8Array | undefined {
    const bits = this.mask
    if (bits === undefined || this.rowsMasked?.subarray(top, top + height).every((r) => r === 1) !== true) return undefined
    const start = top * this.width
    const mask = new Uint8Array(this.width * height)
    for (let i = 0; i < mask.length; i++) mask[i] = (bits[(start + i) >> 3] >> ((start + i) & 7)) & 1
    return mask
  }

  /** Float bands can hold NaN, which is never data; other bands only the declared nodata value. */
  private get canHaveNodata (): boolean {
    return this.nodata !== undefined || this.samples.some((s) => this.image.getSampleFormat(s) === 3)
  }

  /**
   * A pixel is nodata where every chosen band holds the nodata value (GDAL's per-dataset reading of a nodata
   * value shared by the bands: a valid pixel may be 0 in one band), or where any band is NaN.
   */
  private maskOf (bands: Raster[]): Uint8Array | undefined {
    if (!this.canHaveNodata) return undefined
    const length = bands[0].length
    const mask = new Uint8Array(length)
    const nodata = this.samples.map((s) => this.nodataOfSample(s))
    for (let i = 0; i < length; i++) {
      let all = true
      let nan = false
      for (let b = 0; b < bands.length; b++) {
        const v = bands[b][i]
        if (Number.isNaN(v)) nan = true
        else if (v !== nodata[b]) all = false
      }
      if (nan || (all && nodata[0] !== undefined)) mask[i] = 1
    }
    return mask
  }

  /** The nodata value as the band stores it (a float32 band holds the nearest float32). */
  private nodataOfSample (sample: number): number | undefined {
    if (this.nodata === undefined || Number.isNaN(this.nodata)) return undefined
    return this.image.getSampleFormat(sample) === 3 && this.image.getBitsPerSample(sample) === 32 ? Math.fround(this.nodata) : this.nodata
  }

  /** The chosen bands over window [left, top, right, bottom], read in pieces of whole blocks (see PIECE_PIXELS). */
  private async readWindow (window: number[], signal?: AbortSignal): Promise<Raster[]> {
    const [left, top, right, bottom] = window
    const width = right - left
    const blockWidth = this.image.getTileWidth()
    const blockHeight = this.image.getTileHeight()
    const blocksAcross = Math.max(1, Math.floor(PIECE_PIXELS / (blockWidth * blockHeight)))
    const out = this.samples.map((s) => this.image.getArrayForSample(s, width * (bottom - top)))
    for (let y = top; y < bottom; y = (Math.floor(y / blockHeight) + 1) * blockHeight) {
      const rowBottom = Math.min(bottom, (Math.floor(y / blockHeight) + 1) * blockHeight)
      for (let x = left; x < right; x = (Math.floor(x / blockWidth) + blocksAcross) * blockWidth) {
        const pieceRight = Math.min(right, (Math.floor(x / blockWidth) + blocksAcross) * blockWidth)
        const piece = await this.readPiece([x, y, pieceRight, rowBottom], signal)
        const pieceWidth = pieceRight - x
        piece.forEach((values, b) => {
          for (let row = 0; row < rowBottom - y; row++) {
            out[b].set((values as Uint8Array).subarray(row * pieceWidth, (row + 1) * pieceWidth), (y - top + row) * width + x - left)
          }
        })
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    return out
  }

  private async readPiece (window: number[], signal?: AbortSignal): Promise<Raster[]> {
    try {
      const rasters = await this.image.readRasters({ window, samples: this.samples, interleave: false, signal })
      return Array.from(rasters as unknown as Raster[])
    } catch (error) {
      if (signal?.aborted === true) throw error
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
      throw new ServiceError('unprocessable_image', `the TIFF image cannot be decoded (${reason}); is the file complete?`)
    }
  }

  private bandScales (signal?: AbortSignal): Promise<BandScale[]> {
    this.scales ??= this.computeScales(signal)
    return this.scales
  }

  private async computeScales (signal?: AbortSignal): Promise<BandScale[]> {
    const stretch = this.stretch
    if (stretch.kind === 'none') return this.samples.map(() => ({ low: 0, scale: 1 }))
    if (stretch.kind === 'range') return this.samples.map(() => scaleOf(stretch.min, stretch.max))
    const statistics = this.samples.map((s) => new BandValues(this.image.getSampleFormat(s), this.image.getBitsPerSample(s)))
    for (const window of this.statisticsWindows()) {
      const bands = await this.readWindow(window, signal)
      const mask = this.maskOf(bands)
      bands.forEach((values, b) => statistics[b].add(values, mask))
    }
    return statistics.map((s) => scaleOf(s.percentile(stretch.low), s.percentile(stretch.high)))
  }

  /** The whole image, or whole blocks spread evenly over it (see STATS_PIXELS). */
  private statisticsWindows (): number[][] {
    const { width, height } = this
    if (width * height <= STATS_PIXELS) return [[0, 0, width, height]]
    const blockWidth = this.image.getTileWidth()
    const blockHeight = this.image.getTileHeight()
    const across = Math.ceil(width / blockWidth)
    const total = across * Math.ceil(height / blockHeight)
    const wanted = Math.min(total, Math.max(1, Math.floor(STATS_PIXELS / (blockWidth * blockHeight))))
    const windows: number[][] = []
    for (let i = 0; i < wanted; i++) {
      const block = Math.floor((i + 0.5) * total / wanted)
      const x = (block % across) * blockWidth
      const y = Math.floor(block / across) * blockHeight
      windows.push([x, y, Math.min(x + blockWidth, width), Math.min(y + blockHeight, height)])
    }
    return windows
  }
}

function scaleOf (low: number, high: number): BandScale {
  return { low, scale: high > low ? 255 / (high - low) : 0 }
}

/** A band's valid values: an exact histogram for integers of up to 16 bits, else the values themselves. */
class BandValues {
  private readonly histogram: Float64Array | undefined
  private readonly offset: number
  private readonly values: number[] = []

  constructor (sampleFormat: number, bits: number) {
    const integer = sampleFormat === 1 || sampleFormat === 2
    this.histogram = integer && bits <= 16 ? new Float64Array(2 ** bits) : undefined
    this.offset = sampleFormat === 2 && bits <= 16 ? -(2 ** (bits - 1)) : 0
  }

  add (values: Raster, mask: Uint8Array | undefined): void {
    const histogram = this.histogram
    for (let i = 0; i < values.length; i++) {
      if (mask?.[i] === 1) continue
      if (histogram !== undefined) histogram[values[i] - this.offset] += 1
      else this.values.push(values[i])
    }
  }

  percentile (p: number): number {
    if (this.histogram !== undefined) return percentileOfHistogram(this.histogram, this.offset, p)
    return percentileOfSorted(Float64Array.from(this.values).sort(), p)
  }
}

/** GDAL writes nodata as text: `0`, `-9999`, `nan`, `-3.4028234663852886e+38`. */
export function parseNodata (text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const trimmed = text.replace(/\0/g, '').trim()
  if (/^[-+]?nan$/i.test(trimmed)) return NaN
  if (trimmed === '') return undefined
  const value = Number(trimmed)
  return Number.isNaN(value) ? undefined : value
}

/** geotiff.js fetches byte ranges; served from the request body without copying it whole. */
function bufferSource (bytes: Buffer): Parameters<typeof GeoTIFF.fromSource>[0] {
  return {
    fileSize: bytes.length,
    fetch: async (slices: Array<{ offset: number, length: number }>) => slices.map(({ offset, length }) =>
      bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + Math.min(offset + length, bytes.length))),
    close: async () => {}
  } as unknown as Parameters<typeof GeoTIFF.fromSource>[0]
}
