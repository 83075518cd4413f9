import zlib from 'node:zlib'
import sharp from 'sharp'
import t from 'tap'
import {
  crc32,
  crc32Table,
  encodeGray16,
  encodeGray8,
  encodeRgb8,
  encodeRgba8,
  readPngText,
  type PngFilter,
} from '../../src/image/png.js'

const FILTERS: PngFilter[] = ['none', 'sub', 'up']

/** Deterministic bytes with both noise and flat runs, so every filter and run-length path is exercised. */
function pattern (length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let s = seed
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    out[i] = i % 37 < 12 ? 200 : s >>> 24
  }
  return out
}

/** sharp widens greyscale to sRGB on output unless told to stay in 'b-w'. */
async function decode8 (png: Buffer, grey = false) {
  const image = grey ? sharp(png).toColourspace('b-w') : sharp(png)
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8Array(data), info }
}

async function decodeGray16 (png: Buffer) {
  const { data, info } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
  return { data: new Uint16Array(data.buffer, data.byteOffset, data.length / 2), info }
}

t.test('CRC-32 matches the check value and zlib', async (t) => {
  const check = Buffer.from('123456789', 'latin1')
  t.equal(crc32Table(check), 0xcbf43926)
  t.equal(crc32(check), 0xcbf43926)
  t.equal(crc32Table(check.subarray(4), crc32Table(check.subarray(0, 4))), 0xcbf43926, 'running checksum')
  const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
  if (nativeCrc32) {
    const bytes = pattern(100_003, 9)
    t.equal(crc32Table(bytes), nativeCrc32(bytes))
  }
})

t.test('8-bit grey round-trips through sharp, odd sizes, every filter', async (t) => {
  for (const [width, height] of [[1, 1], [7, 5], [33, 17], [255, 3]]) {
    const pixels = pattern(width * height, width)
    for (const filter of FILTERS) {
      for (const runLength of [false, true]) {
        const png = encodeGray8(pixels, width, height, undefined, { filter, runLength })
        const { data, info } = await decode8(png, true)
        t.same([info.width, info.height, info.channels], [width, height, 1])
        t.ok(Buffer.from(data).equals(Buffer.from(pixels)), `${width}x${height} ${filter} rle=${runLength}`)
      }
    }
  }
})

t.test('16-bit grey keeps values above 255 exactly (big-endian samples)', async (t) => {
  for (const [width, height] of [[1, 1], [5, 3], [31, 9]]) {
    const pixels = new Uint16Array(width * height)
    pixels.forEach((_, i) => (pixels[i] = (i * 2654435761) % 65536))
    pixels[0] = 65535
    if (pixels.length > 1) pixels[1] = 256
    for (const filter of FILTERS) {
      const png = encodeGray16(pixels, width, height, undefined, { filter })
      const meta = await sharp(png).metadata()
      t.equal(meta.depth, 'ushort')
      const { data, info } = await decodeGray16(png)
      t.same([info.width, info.height, info.channels], [width, height, 1])
      t.same(Array.from(data), Array.from(pixels), `${width}x${height} ${filter}`)
    }
  }
  // Default options too, on a view that does not start at offset 0 of its buffer.
  const backing = new Uint16Array(1 + 7 * 3)
  const view = backing.subarray(1)
  view.forEach((_, i) => (view[i] = 1000 * i + 300))
  t.same(Array.from((await decodeGray16(encodeGray16(view, 7, 3))).data), Array.from(view))
})

t.test('RGB and RGBA round-trip through sharp', async (t) => {
  for (const [width, height] of [[1, 1], [9, 4], [17, 13]]) {
    const rgb = pattern(width * height * 3, 3)
    const rgba = pattern(width * height * 4, 4)
    for (const filter of FILTERS) {
      const decodedRgb = await decode8(encodeRgb8(rgb, width, height, undefined, { filter }))
      t.equal(decodedRgb.info.channels, 3)
      t.ok(Buffer.from(decodedRgb.data).equals(Buffer.from(rgb)), `rgb ${width}x${height} ${filter}`)
      const decodedRgba = await decode8(encodeRgba8(rgba, width, height, undefined, { filter }))
      t.equal(decodedRgba.info.channels, 4)
      t.ok(Buffer.from(decodedRgba.data).equals(Buffer.from(rgba)), `rgba ${width}x${height} ${filter}`)
    }
  }
})

function chunkTypes (png: Buffer): string[] {
  const types: string[] = []
  for (let offset = 8; offset < png.length; offset += 12 + png.readUInt32BE(offset)) {
    types.push(png.toString('latin1', offset + 4, offset + 8))
  }
  return types
}

t.test('chunk layout: IHDR, ASCII text as tEXt and other text as iTXt before IDAT, IEND last', async (t) => {
  const png = encodeGray8(new Uint8Array(4), 2, 2, { depth_scale: '0.001', unit: 'µm' })
  t.same(chunkTypes(png), ['IHDR', 'tEXt', 'iTXt', 'IDAT', 'IEND'])
})

t.test('text chunks read back, with readPngText and with sharp', async (t) => {
  const text = { depth_scale: '0.001', unit: 'm', 'Multi word key': 'line one\nline two', label: 'café', note: 'ʻokina → UTF-8 µm' }
  const png = encodeGray16(Uint16Array.from([1, 2, 3, 4]), 2, 2, text)
  t.same(readPngText(png), text)
  const comments = (await sharp(png).metadata()).comments ?? []
  t.same(Object.fromEntries(comments.map((c) => [c.keyword, c.text])), text)
  t.same(readPngText(encodeGray8(new Uint8Array(4), 2, 2)), {})
  // Text written by another encoder (sharp/libpng) parses too.
  const foreign = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } })
    .png()
    .withMetadata()
    .toBuffer()
  t.type(readPngText(foreign), 'object')
})

t.test('bad input is refused', async (t) => {
  t.throws(() => encodeGray8(new Uint8Array(5), 2, 3), RangeError)
  t.throws(() => encodeRgb8(new Uint8Array(6), 2, 2), RangeError)
  t.throws(() => encodeGray8(new Uint8Array(0), 0, 0), RangeError)
  t.throws(() => encodeGray8(new Uint8Array(4), 2, 2, { '': 'x' }), RangeError)
  t.throws(() => encodeGray8(new Uint8Array(4), 2, 2, { ['k'.repeat(80)]: 'x' }), RangeError)
  t.throws(() => encodeGray8(new Uint8Array(4), 2, 2, { 'tab\tkey': 'x' }), RangeError)
  t.throws(() => readPngText(Buffer.from('GIF89a')), /signature/)
})

t.test('a large label map encodes quickly and decodes intact', async (t) => {
  const width = 2048
  const height = 2048
  const labels = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) labels[y * width + x] = ((x >> 6) * 7 + (y >> 6) * 3) % 21
  }
  const started = performance.now()
  const png = encodeGray8(labels, width, height, { classes: '21' })
  const elapsed = performance.now() - started
  t.ok(elapsed < 2000, `4 Mpx label map encoded in ${elapsed.toFixed(0)} ms`)
  t.ok(png.length < labels.length / 20, `compressed to ${png.length} bytes`)
  const { data } = await decode8(png, true)
  t.ok(Buffer.from(data).equals(Buffer.from(labels)))
})
