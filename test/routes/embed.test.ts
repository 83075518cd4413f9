import t from 'tap'
import sharp from 'sharp'
import { decodeNpy } from '../../src/image/npy.js'
import { sharedApp, imageHeaders } from '../helpers/app.js'
import { patternPng, patternRgb } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff, normaliseByHand, runBackbone } from '../helpers/reference.js'

const model = syntheticModel({ preset: 'tiny', seed: 3 })
const channels = 32
const registers = 4

t.test('/embed at the processor size returns the CLS row of an independent ONNX Runtime run', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(224, 224)
  const reference = await runBackbone(model, normaliseByHand(patternRgb(224, 224), 224, 224, model), 1, 224, 224)
  t.equal(reference.tokens, 1 + registers + 14 * 14)

  const response = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders('image/png'), payload: png })
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.equal(body.dim, channels)
  t.equal(body.pool, 'cls')
  t.ok(maxAbsDiff(body.embeddings[0], reference.hidden.subarray(0, channels)) < 1e-4, 'CLS row matches')

  const mean = new Float32Array(channels)
  for (let token = 1 + registers; token < reference.tokens; token++) {
    for (let c = 0; c < channels; c++) mean[c] += reference.hidden[token * channels + c] / (reference.tokens - 1 - registers)
  }
  const meanResponse = await app.inject({ method: 'POST', url: '/embed?pool=mean', headers: imageHeaders(), payload: png })
  t.ok(maxAbsDiff(meanResponse.json().embeddings[0], mean) < 1e-4, 'mean of the patch tokens, registers excluded')

  const both = await app.inject({ method: 'POST', url: '/embed?pool=cls%2Bmean&normalize=true', headers: imageHeaders(), payload: png })
  const vector: number[] = both.json().embeddings[0]
  t.equal(vector.length, 2 * channels)
  const norm = Math.hypot(...vector)
  t.ok(Math.abs(norm - 1) < 1e-5, 'L2-normalised')
  const unnormalised = [...reference.hidden.subarray(0, channels), ...mean]
  const scale = Math.hypot(...unnormalised)
  t.ok(maxAbsDiff(vector, unnormalised.map((v) => v / scale)) < 1e-4, 'cls+mean is the normalised concatenation')
})

t.test('format=npy is the same vector as JSON, float32 [C] for one image', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(300, 200, 2)
  const json = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  const npy = await app.inject({ method: 'POST', url: '/embed?format=npy', headers: imageHeaders(), payload: png })
  t.equal(npy.headers['content-type'], 'application/x-npy')
  const decoded = decodeNpy(npy.rawPayload)
  t.same(decoded.shape, [channels])
  t.equal(decoded.dtype, '<f4')
  t.ok(maxAbsDiff(decoded.data as Float32Array, json.json().embeddings[0]) === 0)
})

t.test('/embed resizes to the processor size the way libvips does, whatever the input size', async (t) => {
  const app = await sharedApp(model)
  const rgb = patternRgb(500, 375)
  const png = await sharp(rgb, { raw: { width: 500, height: 375, channels: 3 } }).png().toBuffer()
  const resized = await sharp(rgb, { raw: { width: 500, height: 375, channels: 3 } })
    .resize(224, 224, { fit: 'fill', kernel: 'linear' }).raw().toBuffer()
  const reference = await runBackbone(model, normaliseByHand(resized, 224, 224, model), 1, 224, 224)
  const response = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  t.ok(maxAbsDiff(response.json().embeddings[0], reference.hidden.subarray(0, channels)) < 1e-4)
})

t.test('size=native pools the dense pass: aspect kept, padded to the patch grid', async (t) => {
  const app = await sharedApp(model)
  const [width, height] = [100, 70]
  const png = await patternPng(width, height)
  const reference = await runBackbone(model, normaliseByHand(patternRgb(width, height), width, height, model, 112, 80), 1, 80, 112)
  t.equal(reference.tokens, 1 + registers + 5 * 7)
  const response = await app.inject({ method: 'POST', url: '/embed?size=native', headers: imageHeaders(), payload: png })
  t.ok(maxAbsDiff(response.json().embeddings[0], reference.hidden.subarray(0, channels)) < 1e-4)
})

t.test('timing headers on the answer', async (t) => {
  const app = await sharedApp(model)
  const response = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: await patternPng(64, 64) })
  for (const header of ['x-queue-time', 'x-inference-time', 'x-total-time', 'x-decode-time', 'x-preprocess-time', 'x-postprocess-time']) {
    const value = Number(response.headers[header])
    t.ok(Number.isFinite(value) && value >= 0, `${header}=${response.headers[header]}`)
  }
  t.ok(Number(response.headers['x-inference-time']) > 0)
  t.ok(Number(response.headers['x-total-time']) >= Number(response.headers['x-inference-time']))
  t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('pool=cls+mean typed into a URL (the + arrives as a space) still means cls+mean', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(64, 64)
  const typed = await app.inject({ method: 'POST', url: '/embed?pool=cls+mean', headers: imageHeaders(), payload: png })
  const encoded = await app.inject({ method: 'POST', url: '/embed?pool=cls%2Bmean', headers: imageHeaders(), payload: png })
  t.equal(typed.statusCode, 200)
  t.same(typed.json(), encoded.json())
  t.equal(typed.json().dim, 2 * channels)
  const analyze = await app.inject({ method: 'POST', url: '/analyze?tasks=embed&pool=cls+mean', headers: imageHeaders(), payload: png })
  t.equal(analyze.json().images[0].embedding.dim, 2 * channels)
})
