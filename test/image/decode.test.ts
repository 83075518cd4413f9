import t from 'tap'
import sharp from 'sharp'
import { decodeRgb, readHeader } from '../../src/image/decode.js'
import { ServiceError } from '../../src/errors.js'
import { patternRgb, rawInput } from '../helpers/images.js'

const options = { maxPixels: 10_000_000 }
const [width, height] = [64, 48]
const plain = patternRgb(width, height)

async function decoded (bytes: Buffer): Promise<{ data: Buffer, width: number, height: number, format: string }> {
  const header = await readHeader(bytes, options)
  const rgb = await decodeRgb(bytes, header, { kind: 'none' }, options)
  return { ...rgb, format: header.format }
}

function maxDiff (a: Uint8Array, b: Uint8Array): number {
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

t.test('every accepted input becomes the same 8-bit sRGB RGB pixels as the plain image', async (t) => {
  const rotatedForExif = await sharp(plain, rawInput(width, height)).rotate(270).raw().toBuffer({ resolveWithObject: true })
  const gray = Buffer.from(Array.from({ length: width * height }, (_, i) => plain[i * 3]))
  const grayAsRgb = Buffer.from(Array.from(gray).flatMap((v) => [v, v, v]))
  const rgba = Buffer.alloc(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    plain.copy(rgba, i * 4, i * 3, i * 3 + 3)
    rgba[i * 4 + 3] = i % 7 === 0 ? 0 : 255
  }
  const cases: Array<{ name: string, bytes: Promise<Buffer>, expected: Buffer }> = [
    { name: 'png', bytes: sharp(plain, rawInput(width, height)).png().toBuffer(), expected: plain },
    { name: 'EXIF orientation 6 (PNG)', bytes: sharp(rotatedForExif.data, rawInput(rotatedForExif.info.width, rotatedForExif.info.height)).withMetadata({ orientation: 6 }).png().toBuffer(), expected: plain },
    { name: 'EXIF orientation 6 (WebP)', bytes: sharp(rotatedForExif.data, rawInput(rotatedForExif.info.width, rotatedForExif.info.height)).withMetadata({ orientation: 6 }).webp({ lossless: true }).toBuffer(), expected: plain },
    { name: 'grayscale', bytes: sharp(gray, rawInput(width, height, 1)).png().toBuffer(), expected: grayAsRgb },
    { name: 'RGBA (alpha dropped, as convert("RGB") does)', bytes: sharp(rgba, rawInput(width, height, 4)).png().toBuffer(), expected: plain },
    { name: '16-bit PNG', bytes: sharp(plain, rawInput(width, height)).toColourspace('rgb16').png().toBuffer(), expected: plain },
    { name: 'lossless WebP', bytes: sharp(plain, rawInput(width, height)).webp({ lossless: true }).toBuffer(), expected: plain },
    { name: 'LZW TIFF', bytes: sharp(plain, rawInput(width, height)).tiff({ compression: 'lzw' }).toBuffer(), expected: plain },
    { name: 'lossless AVIF', bytes: sharp(plain, rawInput(width, height)).avif({ lossless: true }).toBuffer(), expected: plain }
  ]
  for (const c of cases) {
    const image = await decoded(await c.bytes)
    t.same([image.width, image.height], [width, height], `${c.name}: size`)
    t.equal(maxDiff(image.data, c.expected), 0, `${c.name}: pixels`)
  }
})

t.test('GIF: the first frame of an animation', async (t) => {
  const frame = async (level: number): Promise<Buffer> =>
    sharp({ create: { width, height, channels: 3, background: { r: level, g: level, b: level } } }).png().toBuffer()
  const gif = await sharp([await frame(200), await frame(30)], { join: { animated: true } }).gif().toBuffer()
  t.equal((await sharp(gif).metadata()).pages, 2, 'two frames')
  const image = await decoded(gif)
  t.same([image.width, image.height], [width, height], 'one frame high, not the strip of all frames')
  t.ok(image.data.every((v) => v === 200), 'the first frame')
})

t.test('CMYK JPEG is converted to sRGB', async (t) => {
  const cmyk = await sharp(plain, rawInput(width, height)).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer()
  t.equal((await sharp(cmyk).metadata()).space, 'cmyk')
  const image = await decoded(cmyk)
  t.equal(image.data.length, width * height * 3)
  let sum = 0
  for (let i = 0; i < plain.length; i++) sum += Math.abs(image.data[i] - plain[i])
  t.ok(sum / plain.length < 20, `colour-managed, close to the original (mean |diff| ${(sum / plain.length).toFixed(1)})`)
})

t.test('the pixel limit is enforced from the header, before decoding', async (t) => {
  const png = await sharp(plain, rawInput(width, height)).png().toBuffer()
  const error = await readHeader(png, { maxPixels: 1000 }).catch((e: unknown) => e)
  t.type(error, ServiceError)
  t.equal((error as ServiceError).status, 413)
  t.match((error as ServiceError).message, /64×48/)
})

t.test('truncated files are 422, refused formats 415', async (t) => {
  const jpeg = await sharp(plain, rawInput(width, height)).jpeg().toBuffer()
  const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2))
  const error = await decoded(truncated).catch((e: unknown) => e) as ServiceError
  t.equal(error.status, 422)
  t.match(error.message, /jpeg image cannot be decoded/)
  const svg = await readHeader(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), options).catch((e: unknown) => e) as ServiceError
  t.equal(svg.status, 415)
})
