import sharp from 'sharp'
import t from 'tap'
import { startApp, imageHeaders } from '../../helpers/app.js'
import { patternRgb, rawInput } from '../../helpers/images.js'
import { stressModel } from '../scenarios/service.js'

/**
 * Found by the fuzz scenario (a JPEG whose SOF height was set to 48715, sent with tile=32): the tiled pass decoded
 * each row of windows with its own decodeRows, and libvips reads the file from its first row for every band, so the
 * decoding grew with the square of the image's height (a 20 × 20000 JPEG of 25 kB cost some 12 s at tile=32).
 * Rows of windows are now grouped into strips (src/inference/dense/decode-strips.ts): 4× the rows must cost at most
 * about 4× the decoding, not 16×.
 */
t.test('the decoding of a tiled request grows linearly with the image\'s height', { timeout: 120_000 }, async (t) => {
  const app = await startApp(t, stressModel(), { PREPROCESS_NICE: '0' })
  const width = 64
  const decodeMs = async (height: number): Promise<number> => {
    const jpeg = await sharp(patternRgb(width, height), rawInput(width, height)).jpeg().toBuffer()
    const response = await app.inject({ method: 'POST', url: `/segment?tile=${width}&overlap=0`, headers: imageHeaders(), payload: jpeg })
    t.equal(response.statusCode, 200, `${width} × ${height} answered`)
    return Number(response.headers['x-decode-time'])
  }
  // The fastest of three runs each: at tens of milliseconds one run can be doubled by the scheduler alone (a clean-clone
  // CI run read 8.2× once, then 3.0× twice), while a quadratic cost would show in every run.
  const fastest = async (height: number): Promise<number> => Math.min(await decodeMs(height), await decodeMs(height), await decodeMs(height))
  await decodeMs(512)
  const short = await fastest(4096)
  const tall = await fastest(16_384)
  t.ok(tall / short < 6, `4× the rows (${4096 / width} → ${16_384 / width} bands) cost ${(tall / short).toFixed(1)}× the decoding ` +
    `(${short.toFixed(0)} ms → ${tall.toFixed(0)} ms); linear is at most 4, quadratic 16`)
})
