// Minimal PNG encoder (greyscale / RGB / RGBA, 8 or 16 bits) with tEXt/iTXt metadata.
// Own encoder rather than sharp: sharp cannot write arbitrary text chunks, and those carry
// the depth scale and units next to the pixels.
// Spec: https://www.w3.org/TR/png/
import { endianness } from 'node:os'
import zlib from 'node:zlib'

export type PngColour = 'gray' | 'rgb' | 'rgba'
export type PngFilter = 'none' | 'sub' | 'up'
/** Keyword -> value pairs stored as tEXt (printable ASCII values) or iTXt (anything else) chunks. */
export type PngText = Record<string, string>

export interface RawPixels {
  /** Row-major, channels interleaved; Uint16Array means 16-bit samples in host order. */
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  colour: PngColour;
}

export interface PngOptions {
  /** Per-row filter; 'none' suits label maps and colormapped images, 'up' suits smooth 16-bit data. */
  filter?: PngFilter;
  /** zlib level 0-9; the default 1 trades ~10-30% size for several times the speed of 6. */
  level?: number;
  /** Run-length-only deflate: much faster and smaller for flat-region images like label maps. */
  runLength?: boolean;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const CHANNELS: Record<PngColour, number> = { gray: 1, rgb: 3, rgba: 4 }
const COLOUR_TYPE: Record<PngColour, number> = { gray: 0, rgb: 2, rgba: 6 }
const FILTER_TYPE: Record<PngFilter, number> = { none: 0, sub: 1, up: 2 }
const MAX_DIMENSION = 0x7fffffff
const MAX_CHUNK_DATA = 0x40000000 // well under the 2^31-1 limit on a chunk's length
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE'

// ---- CRC-32 (ISO-HDLC, the one PNG and zlib use) ----

const CRC_TABLE = (() => {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
})()

/** Table-driven CRC-32; `previous` continues a running checksum, as zlib.crc32 does. */
export function crc32Table (bytes: Uint8Array, previous = 0): number {
  let c = ~previous
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

// zlib.crc32 is native and ~10x faster, but only exists from Node 20.15 / 22.2.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32
export const crc32: (bytes: Uint8Array, previous?: number) => number = nativeCrc32 ?? crc32Table

// ---- chunks ----

function chunk (type: string, data: Uint8Array): Buffer[] {
  const head = Buffer.allocUnsafe(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const tail = Buffer.allocUnsafe(4)
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4, 8))), 0)
  return [head, Buffer.from(data.buffer, data.byteOffset, data.byteLength), tail]
}

function ihdr (width: number, height: number, bitDepth: 8 | 16, colour: PngColour): Buffer {
  const data = Buffer.alloc(13)
  data.writeUInt32BE(width, 0)
  data.writeUInt32BE(height, 4)
  data[8] = bitDepth
  data[9] = COLOUR_TYPE[colour]
  // bytes 10-12: compression 0 (deflate), filter method 0, interlace 0 (none)
  return data
}

// tEXt is Latin-1 by spec, but some readers (libvips among them) decode it as UTF-8, so anything
// beyond printable ASCII goes into an iTXt chunk, which is UTF-8 by spec.
const isPlainAscii = (s: string): boolean => /^[\x20-\x7e\n]*$/.test(s)

function textChunk (keyword: string, value: string): Buffer[] {
  if (keyword.length < 1 || keyword.length > 79 || !/^[\x20-\x7e\xa1-\xff]+$/.test(keyword)) {
    throw new RangeError(`png: text keyword must be 1-79 printable Latin-1 characters, got ${JSON.stringify(keyword)}`)
  }
  if (isPlainAscii(value)) {
    return chunk('tEXt', Buffer.from(`${keyword}\0${value}`, 'latin1'))
  }
  // iTXt carries UTF-8: keyword NUL, compression flag 0, method 0, empty language NUL, empty translation NUL.
  const head = Buffer.from(`${keyword}\0\0\0\0\0`, 'latin1')
  return chunk('iTXt', Buffer.concat([head, Buffer.from(value, 'utf8')]))
}

// ---- scanlines ----

function checkPixels (pixels: RawPixels): { bitDepth: 8 | 16; rowBytes: number; bytesPerPixel: number } {
  const { data, width, height, colour } = pixels
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) throw new RangeError(`png: invalid ${name} ${v}`)
  }
  const channels = CHANNELS[colour]
  if (channels === undefined) throw new RangeError(`png: unknown colour type ${String(colour)}`)
  if (data.length !== width * height * channels) {
    throw new RangeError(`png: ${width}x${height} ${colour} needs ${width * height * channels} samples, got ${data.length}`)
  }
  const bitDepth = data instanceof Uint16Array ? 16 : 8
  const bytesPerPixel = channels * (bitDepth / 8)
  return { bitDepth, rowBytes: width * bytesPerPixel, bytesPerPixel }
}

/** Rows prefixed with their filter byte, samples big-endian, filtered in place. */
function scanlines (pixels: RawPixels, filter: PngFilter): Buffer {
  const { bitDepth, rowBytes, bytesPerPixel } = checkPixels(pixels)
  const { data, height } = pixels
  const source = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const stride = rowBytes + 1
  const out = Buffer.allocUnsafe(stride * height)
  const swapToBigEndian = bitDepth === 16 && HOST_IS_LITTLE_ENDIAN

  for (let y = 0; y < height; y++) {
    const start = y * stride + 1
    out[start - 1] = FILTER_TYPE[filter]
    source.copy(out, start, y * rowBytes, (y + 1) * rowBytes)
    if (swapToBigEndian) out.subarray(start, start + rowBytes).swap16()
  }

  if (filter === 'sub') {
    for (let y = 0; y < height; y++) {
      const start = y * stride + 1
      // Backwards, so each left neighbour is still unfiltered when it is subtracted.
      for (let i = start + rowBytes - 1; i >= start + bytesPerPixel; i--) out[i] -= out[i - bytesPerPixel]
    }
  } else if (filter === 'up') {
    // Bottom-up, so the row above is still unfiltered; row 0's "above" is zeros, so it stays as is.
    for (let y = height - 1; y >= 1; y--) {
      const start = y * stride + 1
      for (let i = start, end = start + rowBytes; i < end; i++) out[i] -= out[i - stride]
    }
  }
  return out
}

// ---- assembly ----

function deflateOptions (options: PngOptions): zlib.ZlibOptions {
  return {
    level: options.level ?? 1,
    strategy: options.runLength ? zlib.constants.Z_RLE : zlib.constants.Z_DEFAULT_STRATEGY,
  }
}

function assemble (pixels: RawPixels, compressed: Buffer, text: PngText | undefined): Buffer {
  const bitDepth = pixels.data instanceof Uint16Array ? 16 : 8
  const parts: Buffer[] = [SIGNATURE, ...chunk('IHDR', ihdr(pixels.width, pixels.height, bitDepth, pixels.colour))]
  // Text before the pixels, so a streaming reader sees the depth scale first.
  for (const [keyword, value] of Object.entries(text ?? {})) parts.push(...textChunk(keyword, value))
  for (let offset = 0; offset < compressed.length; offset += MAX_CHUNK_DATA) {
    parts.push(...chunk('IDAT', compressed.subarray(offset, offset + MAX_CHUNK_DATA)))
  }
  parts.push(...chunk('IEND', Buffer.alloc(0)))
  return Buffer.concat(parts)
}

/** Encodes synchronously (~0.1 s per 64 MB of label map): the service calls it on its post-processing threads. */
export function encodePng (pixels: RawPixels, text?: PngText, options: PngOptions = {}): Buffer {
  const raw = scanlines(pixels, options.filter ?? 'none')
  return assemble(pixels, zlib.deflateSync(raw, deflateOptions(options)), text)
}

// Defaults chosen by measurement: label maps compress best (and fastest) unfiltered with
// run-length deflate; smooth depth prefers 'up'; colormapped RGB prefers no filter.
// Options passed to the helpers below override these field by field.
export const GRAY8_DEFAULTS: Readonly<PngOptions> = Object.freeze({ filter: 'none', runLength: true })
export const GRAY16_DEFAULTS: Readonly<PngOptions> = Object.freeze({ filter: 'up' })
export const RGB8_DEFAULTS: Readonly<PngOptions> = Object.freeze({ filter: 'none' })

export function encodeGray8 (data: Uint8Array, width: number, height: number, text?: PngText, options: PngOptions = {}): Buffer {
  return encodePng({ data, width, height, colour: 'gray' }, text, { ...GRAY8_DEFAULTS, ...options })
}

export function encodeGray16 (data: Uint16Array, width: number, height: number, text?: PngText, options: PngOptions = {}): Buffer {
  return encodePng({ data, width, height, colour: 'gray' }, text, { ...GRAY16_DEFAULTS, ...options })
}

export function encodeRgb8 (data: Uint8Array, width: number, height: number, text?: PngText, options: PngOptions = {}): Buffer {
  return encodePng({ data, width, height, colour: 'rgb' }, text, { ...RGB8_DEFAULTS, ...options })
}

export function encodeRgba8 (data: Uint8Array, width: number, height: number, text?: PngText, options: PngOptions = {}): Buffer {
  return encodePng({ data, width, height, colour: 'rgba' }, text, { ...RGB8_DEFAULTS, ...options })
}

// ---- reading text back ----

/** Collects tEXt, zTXt and iTXt entries (later duplicates win). Throws on a non-PNG. */
export function readPngText (png: Uint8Array): PngText {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength)
  if (buf.length < SIGNATURE.length || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
    throw new Error('png: missing PNG signature')
  }
  const text: PngText = {}
  let offset = SIGNATURE.length
  while (offset + 12 <= buf.length) {
    const length = buf.readUInt32BE(offset)
    const type = buf.toString('latin1', offset + 4, offset + 8)
    const data = buf.subarray(offset + 8, offset + 8 + length)
    offset += 12 + length
    if (type === 'IEND') break
    const nul = data.indexOf(0)
    if (nul < 0 || (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt')) continue
    const keyword = data.toString('latin1', 0, nul)
    if (type === 'tEXt') {
      text[keyword] = data.toString('latin1', nul + 1)
    } else if (type === 'zTXt') {
      text[keyword] = zlib.inflateSync(data.subarray(nul + 2)).toString('latin1')
    } else {
      const compressed = data[nul + 1] === 1
      const languageEnd = data.indexOf(0, nul + 3)
      const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1)
      if (translatedEnd < 0) continue
      const body = data.subarray(translatedEnd + 1)
      text[keyword] = (compressed ? zlib.inflateSync(body) : body).toString('utf8')
    }
  }
  return text
}
