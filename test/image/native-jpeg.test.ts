import sharp, { type JpegOptions, type KernelEnum } from 'sharp'
import t from 'tap'
import { decodeRgb, readHeader, type ResizePlan } from '../../src/image/decode.js'
import { decodeJpegNatively, decodeJpegToTensor, decodesNatively, nativeJpeg } from '../../src/image/native-jpeg.js'
import { flatTables, normalisationTable, toPixelTensor } from '../../src/inference/normalize.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternRgb, rawInput } from '../helpers/images.js'
import { floatResample, type Kernel } from '../helpers/float-resample.js'
import { afterSoi, bigEndianExif, segment } from '../helpers/jpeg-segments.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff, normaliseByHand, runBackbone } from '../helpers/reference.js'

if (nativeJpeg.module === undefined) {
  t.comment(`skipped: ${nativeJpeg.unavailable ?? ''}; apt-get install gcc libjpeg62-turbo-dev, then bash scripts/build-native.sh`)
  t.end()
  process.exit(0)
}
const module = nativeJpeg.module
const options = { maxPixels: 50_000_000 }

/** How often the decoder ran: proof that a decodeRgb answer came from it, not from sharp. */
let nativeCalls = 0
nativeJpeg.module = {
  decode: async (...args) => { nativeCalls++; return await module.decode(...args) },
  decodeToTensor: async (...args) => { nativeCalls++; return await module.decodeToTensor(...args) }
}

const jpeg = (width: number, height: number, settings: JpegOptions = {}): Promise<Buffer> =>
  sharp(patternRgb(width, height), rawInput(width, height)).blur(1.2).jpeg({ quality: 90, ...settings }).toBuffer()

/** libvips' pixels for the same file and plan: the reference. */
async function libvips (bytes: Buffer, width: number, height: number, kernel: keyof KernelEnum): Promise<Buffer> {
  return sharp(bytes).resize(width, height, { fit: 'fill', kernel }).toColourspace('srgb').removeAlpha().raw().toBuffer()
}

/**
 * How far the native pixels are from libvips': the largest difference, the mean, and the 99.9th percentile. libvips
 * rounds and clips between its vertical and horizontal passes and the native resampler keeps floats, so where cubic
 * and lanczos ring past 0 or 255 at a hard edge the two can differ by more than a level, at a handful of samples.
 */
function differences (a: Uint8Array, b: Uint8Array): { max: number, mean: number, p999: number } {
  const counts = new Array<number>(256).fill(0)
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i])
    counts[d]++
    sum += d
  }
  let max = 0
  let p999 = 0
  let seen = 0
  for (let d = 0; d < 256; d++) {
    if (counts[d] > 0) max = d
    seen += counts[d]
    if (seen < 0.999 * a.length) p999 = d + 1
  }
  return { max, mean: sum / a.length, p999 }
}

const whole = (width: number, height: number): { left: number, top: number, width: number, height: number } => ({ left: 0, top: 0, width, height })

t.test('at its own size the decode equals libvips byte for byte', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['4:2:0 baseline, odd size', await jpeg(333, 251)],
    ['4:4:4', await jpeg(160, 120, { chromaSubsampling: '4:4:4' })],
    ['progressive', await jpeg(200, 150, { progressive: true })],
    ['restart markers and trellis (mozjpeg)', await jpeg(130, 97, { mozjpeg: true })],
    ['grey', await sharp(patternRgb(90, 70), rawInput(90, 70)).greyscale().jpeg().toBuffer()]
  ]
  for (const [name, bytes] of cases) {
    const { width, height } = await sharp(bytes).metadata()
    const native = await decodeJpegNatively(bytes, { orientation: 1, width, height, kernel: 'linear', crop: whole(width, height) })
    t.ok(native, name)
    t.same(differences(native?.data ?? Buffer.alloc(0), await sharp(bytes).toColourspace('srgb').raw().toBuffer()), { max: 0, mean: 0, p999: 0 }, name)
  }
})

t.test('resized, it is within a level or two of libvips for each kernel, also through shrink-on-load', async (t) => {
  const cases: Array<[string, Buffer, number, number]> = [
    ['500×375 to 224² (the /embed case)', await jpeg(500, 375), 224, 224],
    ['1800×1200 to 224² (libjpeg shrinks by 4 first)', await jpeg(1800, 1200), 224, 224],
    ['640×480 to 448×336 (dense, aspect kept)', await jpeg(640, 480), 448, 336]
  ]
  for (const [name, bytes, width, height] of cases) {
    for (const kernel of ['linear', 'cubic', 'lanczos3'] as const) {
      const native = await decodeJpegNatively(bytes, { orientation: 1, width, height, kernel, crop: whole(width, height) })
      const { max, mean, p999 } = differences(native?.data ?? Buffer.alloc(0), await libvips(bytes, width, height, kernel))
      t.equal(native?.data.length, width * height * 3, `${name}, ${kernel}: size`)
      t.ok(p999 <= 2 && mean < 0.3 && max <= 12, `${name}, ${kernel}: 99.9% within ${p999}, mean ${mean.toFixed(3)}, max ${max}`)
    }
  }
  t.equal(await decodeJpegNatively(await jpeg(120, 90), { orientation: 1, width: 224, height: 224, kernel: 'linear', crop: whole(224, 224) }), undefined,
    'enlarging is left to libvips, whose affine transform places pixel centres its own way')
})

t.test('the resample is the plain float arithmetic, to the byte: its vector loops change no sum', async (t) => {
  // Reductions under 2 (no shrink in the DCT), so the resample starts from the decode at its own size, which equals
  // libvips'; widths whose rows are not a whole number of vectors; taps past every edge.
  const cases: Array<[number, number, number, number, Kernel]> = [
    [500, 375, 299, 224, 'linear'],
    [500, 375, 301, 227, 'cubic'],
    [333, 251, 224, 224, 'lanczos3'],
    [97, 61, 53, 37, 'cubic']
  ]
  for (const [width, height, outWidth, outHeight, kernel] of cases) {
    const bytes = await jpeg(width, height)
    const decoded = await decodeJpegNatively(bytes, { orientation: 1, width, height, kernel: 'linear', crop: whole(width, height) })
    const resized = await decodeJpegNatively(bytes, { orientation: 1, width: outWidth, height: outHeight, kernel, crop: whole(outWidth, outHeight) })
    if (decoded === undefined || resized === undefined) throw new Error('refused')
    const expected = floatResample(decoded.data, width, height, outWidth, outHeight, kernel)
    const { max } = differences(resized.data, expected)
    // Lanczos' weights come from sin(), which V8 and glibc may round a last bit apart.
    t.ok(kernel === 'lanczos3' ? max <= 1 : resized.data.equals(expected), `${width}×${height} → ${outWidth}×${outHeight} ${kernel}: largest difference ${max}`)
  }
})

t.test('a crop is the same rectangle of the full resize', async (t) => {
  const bytes = await jpeg(500, 375)
  const full = await decodeJpegNatively(bytes, { orientation: 1, width: 299, height: 224, kernel: 'cubic', crop: whole(299, 224) })
  const crop = await decodeJpegNatively(bytes, { orientation: 1, width: 299, height: 224, kernel: 'cubic', crop: { left: 37, top: 0, width: 224, height: 224 } })
  const expected = Buffer.concat(Array.from({ length: 224 }, (_, y) => full?.data.subarray((y * 299 + 37) * 3, (y * 299 + 37 + 224) * 3) ?? Buffer.alloc(0)))
  t.ok(crop?.data.equals(expected))
})

t.test('decodeRgb takes plain JPEGs natively and leaves the rest to libvips', async (t) => {
  const decode = async (bytes: Buffer, plan: ResizePlan): Promise<{ data: Buffer, native: boolean }> => {
    const before = nativeCalls
    const rgb = await decodeRgb(bytes, await readHeader(bytes, options), plan, options)
    return { data: rgb.data, native: nativeCalls > before }
  }
  const plain = await jpeg(500, 375)
  const embed: ResizePlan = { kind: 'cover-crop', width: 299, height: 224, crop: { width: 224, height: 224 }, kernel: 'linear' }
  const reference = await sharp(plain).resize(299, 224, { fit: 'fill', kernel: 'linear' }).extract({ left: 37, top: 0, width: 224, height: 224 }).raw().toBuffer()
  const taken = await decode(plain, embed)
  t.ok(taken.native, 'a plain JPEG')
  t.ok(differences(taken.data, reference).p999 <= 1, 'the centre crop as libvips cuts it')

  t.ok(decodesNatively({ width: 120, height: 90, orientation: 6, iccProfile: false }, 'linear'), 'an EXIF orientation it turns itself')
  t.notOk(decodesNatively({ width: 120, height: 90, orientation: 1, iccProfile: true }, 'linear'), 'an ICC profile')
  const withProfile = await sharp(patternRgb(120, 90), rawInput(120, 90)).jpeg().withIccProfile('p3').toBuffer()
  t.notOk((await decode(withProfile, { kind: 'none' })).native, 'an ICC profile to convert')
  t.notOk((await decode(plain, { kind: 'exact', width: 224, height: 224, kernel: 'nearest' })).native, 'a kernel it does not have')

  const cmyk = await sharp(patternRgb(64, 48), rawInput(64, 48)).toColourspace('cmyk').jpeg().toBuffer()
  const cmykRgb = await decode(cmyk, { kind: 'none' })
  t.ok(cmykRgb.native, 'CMYK is tried')
  t.ok(cmykRgb.data.equals(await sharp(cmyk).toColourspace('srgb').raw().toBuffer()), 'and refused: libvips converts it')

  const truncated = plain.subarray(0, Math.floor(plain.length * 0.6))
  await t.rejects(decode(truncated, { kind: 'none' }), { code: 'unprocessable_image' }, 'a truncated file is refused and libvips words the error')
  const big = await jpeg(2100, 2100, { quality: 50 })
  t.ok((await decode(big, { kind: 'none' })).data.equals(await sharp(big).raw().toBuffer()), 'over 4 megapixels decoded: libvips, which streams')
})

t.test('every EXIF orientation is turned as libvips turns it, before the resample', async (t) => {
  const stored = await jpeg(150, 100)
  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const bytes = afterSoi(stored, segment(0xe1, bigEndianExif(orientation)))
    const header = await readHeader(bytes, options)
    t.same([header.width, header.height], orientation >= 5 ? [100, 150] : [150, 100], `${orientation}: the size as seen`)
    const before = nativeCalls
    const seen = await decodeRgb(bytes, header, { kind: 'none' }, options)
    t.equal(nativeCalls, before + 1, `${orientation}: decoded natively`)
    t.ok(seen.data.equals(await sharp(bytes).autoOrient().raw().toBuffer()), `${orientation}: byte for byte libvips' turned pixels`)
    const [width, height] = orientation >= 5 ? [56, 84] : [84, 56]
    const resized = await decodeRgb(bytes, header, { kind: 'exact', width, height, kernel: 'cubic' }, options)
    const reference = await sharp(bytes).autoOrient().resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer()
    const { p999, mean } = differences(resized.data, reference)
    t.ok(p999 <= 2 && mean < 0.3, `${orientation}: resized to ${width}×${height}, 99.9% within ${p999}, mean ${mean.toFixed(3)}`)
  }
})

t.test('wrong arguments throw rather than crash', async (t) => {
  t.throws(() => module.decode(Buffer.alloc(4), 0, 10, 0, 0, 0, 1, 1), RangeError)
  t.throws(() => module.decode(Buffer.alloc(4), 10, 10, 0, 5, 5, 10, 10), RangeError, 'a crop outside the image')
  t.throws(() => module.decode(Buffer.alloc(4), 10, 10, 0, 0, 0, 10, 10, 9), RangeError, 'an orientation outside 1–8')
  t.throws(() => module.decode('jpeg' as unknown as Uint8Array, 10, 10, 0, 0, 0, 10, 10), TypeError)
  await t.rejects(module.decode(Buffer.from('not a jpeg at all'), 10, 10, 0, 0, 0, 10, 10), { code: 'ERR_NATIVE_JPEG_REFUSED' })
})

t.test('/embed of a JPEG: the native pixels, through the model, against libvips\' pixels run independently', async (t) => {
  const model = syntheticModel({ preset: 'tiny', seed: 3 })
  const bytes = await jpeg(500, 375)
  const libvipsPixels = await libvips(bytes, 224, 224, 'linear')
  const nativePixels = (await decodeJpegNatively(bytes, { orientation: 1, width: 224, height: 224, kernel: 'linear', crop: whole(224, 224) }))?.data ?? Buffer.alloc(0)
  const reference = async (rgb: Uint8Array): Promise<Float32Array> =>
    (await runBackbone(model, normaliseByHand(rgb, 224, 224, model), 1, 224, 224)).hidden.subarray(0, 32)
  const embed = async (env: Record<string, string>): Promise<number[]> =>
    (await (await startApp(t, model, env)).inject({ method: 'POST', url: '/embed', headers: imageHeaders('image/jpeg'), payload: bytes })).json().embeddings[0]

  const before = nativeCalls
  t.ok(maxAbsDiff(await embed({}), await reference(nativePixels)) < 1e-4, 'by default the service embeds the native pixels')
  t.equal(nativeCalls, before + 1)
  const cmyk = await sharp(patternRgb(500, 375), rawInput(500, 375)).toColourspace('cmyk').jpeg().toBuffer()
  const app = await startApp(t, model)
  t.equal((await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders('image/jpeg'), payload: cmyk })).statusCode, 200)
  t.equal(nativeCalls, before + 2, 'a file the native decoder refuses goes to libvips after one try, not two')
  t.ok(maxAbsDiff(await embed({ NATIVE_JPEG: 'false' }), await reference(libvipsPixels)) < 1e-4, 'NATIVE_JPEG=false: libvips\' pixels')
  t.equal(nativeCalls, before + 2, 'and no native decode')
  const [a, b] = [await reference(nativePixels), await reference(libvipsPixels)]
  const cosine = a.reduce((sum, v, i) => sum + v * b[i], 0) / Math.hypot(...a) / Math.hypot(...b)
  t.ok(cosine > 0.9999, `the two embeddings agree (cosine ${cosine.toFixed(6)})`)
})

t.test('damaged files never crash it: each is decoded or refused', async (t) => {
  const bytes = await jpeg(160, 120, { progressive: true })
  let seed = 7
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  const outcomes = { decoded: 0, refused: 0 }
  for (let i = 0; i < 300; i++) {
    const damaged = Buffer.from(i % 2 === 0 ? bytes : bytes.subarray(0, 2 + Math.floor(random() * (bytes.length - 2))))
    for (let k = 0; k < 4; k++) damaged[Math.floor(damaged.length / 2 + random() * (damaged.length / 2))] = Math.floor(random() * 256)
    try {
      await module.decode(damaged, 100, 75, i % 3, 0, 0, 100, 75)
      outcomes.decoded++
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_NATIVE_JPEG_REFUSED') throw error
      outcomes.refused++
    }
  }
  t.equal(outcomes.decoded + outcomes.refused, 300, JSON.stringify(outcomes))
})

t.test('straight to the tensor: the same floats as normalising its bytes, the padding zero', async (t) => {
  const bytes = await jpeg(500, 375)
  const processor = { resize: { kind: 'none' } as const, kernel: 'cubic' as const, rescaleFactor: 1 / 255, mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] }
  const tables = normalisationTable(processor)
  const target = { orientation: 1, width: 300, height: 225, kernel: 'cubic' as const, crop: { left: 0, top: 0, width: 300, height: 225 } }
  const padded = { width: 304, height: 240 }
  const rgb = await decodeJpegNatively(bytes, target)
  const expected = toPixelTensor(rgb ?? { data: Buffer.alloc(0), width: 0, height: 0 }, tables, padded)
  const out = new Float32Array(3 * padded.width * padded.height).fill(Number.NaN)
  const written = await decodeJpegToTensor(bytes, target, { out, table: flatTables(tables), padded })
  t.equal(written, out, 'the tensor given is the one answered')
  t.equal(maxAbsDiff(out, expected), 0)
  t.ok(out.every((v) => !Number.isNaN(v)), 'every float written, the padding too')
  await t.rejects(decodeJpegToTensor(bytes, target, { out: new Float32Array(10), table: new Float32Array(768), padded }), RangeError, 'a tensor too small')
  t.equal(await decodeJpegToTensor(bytes.subarray(0, 1000), target, { out, table: new Float32Array(768), padded }), undefined, 'a damaged file: libvips decides')
})
