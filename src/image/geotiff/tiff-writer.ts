import { endianness } from 'node:os'
import { promisify } from 'node:util'
import { deflate as deflateCallback } from 'node:zlib'
import type { GeoReference } from './geo-reference.js'

const deflate = promisify(deflateCallback)

/**
 * A tiled, deflate-compressed (Geo)TIFF writer. geotiff.js writes only one uncompressed strip of a picture held
 * whole (its writeArrayBuffer), and GDAL is no npm dependency; a 20000 × 20000 label map must instead be written
 * tile row by tile row as its rows are computed, holding only compressed tiles. Classic TIFF, little-endian, chunky
 * samples; the tiles come first and the directory last, so nothing is written twice.
 */
export type SampleType = 'uint8' | 'uint16' | 'float32'

export interface TiffSpec {
  width: number
  height: number
  /** 1 (grey), 3 (RGB) or 4 (RGB + alpha). */
  samples: number
  type: SampleType
  /** Internal tile side, a multiple of 16 (TIFF's rule). */
  tileSize?: number
  geo?: GeoReference
  /** GDAL_NODATA, as GDAL reads it: `255`, `nan`. */
  nodata?: string
  /** GDAL_METADATA XML (band descriptions, units). */
  metadata?: string
}

export type PixelRows = Uint8Array | Uint16Array | Float32Array

/** Rows top..top+height, all columns, samples interleaved; called once per tile row, top to bottom. */
export type RowSource = (top: number, height: number) => Promise<PixelRows> | PixelRows

export const DEFAULT_TILE = 256

const TYPES = {
  uint8: { bits: 8, format: 1, ArrayType: Uint8Array },
  uint16: { bits: 16, format: 1, ArrayType: Uint16Array },
  float32: { bits: 32, format: 3, ArrayType: Float32Array }
} as const

const SHORT = 3
const LONG = 4
const ASCII = 2
const DOUBLE = 12

interface Entry { tag: number, type: number, values: number[] | string }

export interface TiffChunks {
  /** The file in order: header, tiles, directory. Send them as a stream, or concatenate. */
  chunks: Buffer[]
  bytes: number
}

export async function writeTiledTiff (spec: TiffSpec, rows: RowSource): Promise<TiffChunks> {
  if (endianness() !== 'LE') throw new Error('the TIFF writer writes typed arrays as they lie in memory, which needs a little-endian host')
  const tile = spec.tileSize ?? DEFAULT_TILE
  if (tile % 16 !== 0 || tile <= 0) throw new Error(`TIFF tiles are multiples of 16 pixels, not ${tile}`)
  const { width, height, samples } = spec
  const type = TYPES[spec.type]
  const across = Math.ceil(width / tile)
  const down = Math.ceil(height / tile)
  const chunks: Buffer[] = [Buffer.alloc(8)]
  const offsets: number[] = []
  const counts: number[] = []
  let position = 8

  for (let ty = 0; ty < down; ty++) {
    const top = ty * tile
    const rowCount = Math.min(tile, height - top)
    const data = await rows(top, rowCount)
    if (data.length !== rowCount * width * samples) throw new Error(`rows ${top}+${rowCount} hold ${data.length} values, not ${rowCount * width * samples}`)
    const tiles = Array.from({ length: across }, (_, tx) => {
      // Edge tiles are padded to full size, as TIFF requires.
      const block = new type.ArrayType(tile * tile * samples)
      const left = tx * tile
      const span = Math.min(tile, width - left) * samples
      for (let y = 0; y < rowCount; y++) {
        const start = (y * width + left) * samples
        block.set(data.subarray(start, start + span), y * tile * samples)
      }
      return deflate(new Uint8Array(block.buffer, block.byteOffset, block.byteLength))
    })
    for (const compressed of await Promise.all(tiles)) {
      offsets.push(position)
      counts.push(compressed.length)
      chunks.push(compressed)
      position += compressed.length
    }
  }
  if (position % 2 === 1) {
    chunks.push(Buffer.alloc(1))
    position += 1
  }

  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: new Array(samples).fill(type.bits) },
    { tag: 259, type: SHORT, values: [8] }, // Adobe deflate
    { tag: 262, type: SHORT, values: [samples >= 3 ? 2 : 1] }, // RGB or BlackIsZero
    { tag: 277, type: SHORT, values: [samples] },
    { tag: 284, type: SHORT, values: [1] }, // chunky
    { tag: 322, type: LONG, values: [tile] },
    { tag: 323, type: LONG, values: [tile] },
    { tag: 324, type: LONG, values: offsets },
    { tag: 325, type: LONG, values: counts },
    ...(samples === 4 ? [{ tag: 338, type: SHORT, values: [2] }] : []), // unassociated alpha
    { tag: 339, type: SHORT, values: new Array(samples).fill(type.format) },
    ...geoEntries(spec.geo),
    ...(spec.metadata !== undefined ? [{ tag: 42112, type: ASCII, values: spec.metadata }] : []),
    ...(spec.nodata !== undefined ? [{ tag: 42113, type: ASCII, values: spec.nodata }] : [])
  ]
  const directory = encodeDirectory(entries, position)
  if (position + directory.length > 0xffffffff) throw new Error('the TIFF would pass 4 GiB, which classic TIFF cannot address')
  chunks[0].write('II', 0, 'latin1')
  chunks[0].writeUInt16LE(42, 2)
  chunks[0].writeUInt32LE(position, 4)
  chunks.push(directory)
  return { chunks, bytes: position + directory.length }
}

function geoEntries (geo: GeoReference | undefined): Entry[] {
  if (geo === undefined) return []
  const entries: Entry[] = []
  if (geo.pixelScale !== undefined) entries.push({ tag: 33550, type: DOUBLE, values: geo.pixelScale })
  if (geo.tiepoint !== undefined) entries.push({ tag: 33922, type: DOUBLE, values: geo.tiepoint })
  if (geo.transformation !== undefined) entries.push({ tag: 34264, type: DOUBLE, values: geo.transformation })
  if (geo.keyDirectory !== undefined) entries.push({ tag: 34735, type: SHORT, values: geo.keyDirectory })
  if (geo.doubleParams !== undefined) entries.push({ tag: 34736, type: DOUBLE, values: geo.doubleParams })
  if (geo.asciiParams !== undefined) entries.push({ tag: 34737, type: ASCII, values: geo.asciiParams })
  return entries
}

const SIZES: Record<number, number> = { [SHORT]: 2, [LONG]: 4, [ASCII]: 1, [DOUBLE]: 8 }

/** The image file directory at `offset`: entries sorted by tag, values over 4 bytes after it, word-aligned. */
function encodeDirectory (entries: Entry[], offset: number): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag)
  const head = 2 + sorted.length * 12 + 4
  const payloads = sorted.map((e) => encodeValues(e))
  const outside = payloads.reduce((sum, p) => sum + (p.length > 4 ? p.length + (p.length % 2) : 0), 0)
  const out = Buffer.alloc(head + outside)
  out.writeUInt16LE(sorted.length, 0)
  let extra = head
  sorted.forEach((entry, i) => {
    const at = 2 + i * 12
    const payload = payloads[i]
    out.writeUInt16LE(entry.tag, at)
    out.writeUInt16LE(entry.type, at + 2)
    out.writeUInt32LE(payload.length / SIZES[entry.type], at + 4)
    if (payload.length <= 4) {
      payload.copy(out, at + 8)
    } else {
      out.writeUInt32LE(offset + extra, at + 8)
      payload.copy(out, extra)
      extra += payload.length + (payload.length % 2)
    }
  })
  // The next directory's offset (none) is left at zero.
  return out
}

function encodeValues ({ type, values }: Entry): Buffer {
  if (typeof values === 'string') {
    const text = values.endsWith('\0') ? values : values + '\0'
    return Buffer.from(text, 'latin1')
  }
  const out = Buffer.alloc(values.length * SIZES[type])
  values.forEach((v, i) => {
    if (type === SHORT) out.writeUInt16LE(v, i * 2)
    else if (type === LONG) out.writeUInt32LE(v, i * 4)
    else out.writeDoubleLE(v, i * 8)
  })
  return out
}
