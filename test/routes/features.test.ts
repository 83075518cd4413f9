import t from 'tap'
import type { Test } from 'tap'
import sharp from 'sharp'
import { decodeNpy } from '../../src/image/npy.js'
import { SATELLITE_MEAN, SATELLITE_STD } from '../../src/synthetic/synthetic-model.js'
import { sharedApp, startApp, imageHeaders } from '../helpers/app.js'
import { patternPng, patternRgb } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff, normaliseByHand, runBackbone } from '../helpers/reference.js'

/** The patch rows of last_hidden_state, reshaped row-major into [C, h, w] by hand. */
function patchRowsAsGrid (hidden: Float32Array, registers: number, channels: number, h: number, w: number): Float32Array {
  const grid = new Float32Array(channels * h * w)
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const token = 1 + registers + row * w + col
      for (let c = 0; c < channels; c++) grid[c * h * w + row * w + col] = hidden[token * channels + c]
    }
  }
  return grid
}

async function checkNative (t: Test, options: { patch: number, registers: number, mean?: number[], std?: number[] }): Promise<void> {
  const model = syntheticModel({ preset: 'tiny', spec: { patchSize: options.patch, registers: options.registers }, mean: options.mean, std: options.std, imageSize: options.patch * 8 })
  const app = await sharedApp(model)
  const [width, height] = [480, 320]
  const paddedWidth = Math.ceil(width / options.patch) * options.patch
  const paddedHeight = Math.ceil(height / options.patch) * options.patch
  const [h, w] = [paddedHeight / options.patch, paddedWidth / options.patch]

  const response = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders('image/png'), payload: await patternPng(width, height) })
  t.equal(response.statusCode, 200)
  const features = decodeNpy(response.rawPayload)
  t.same(features.shape, [32, h, w], `[C, ${h}, ${w}]`)
  t.equal(response.headers['x-patch-grid'], `${h}x${w}`)
  t.equal(response.headers['x-model-input-padding'], `right=${paddedWidth - width},bottom=${paddedHeight - height}`)

  const reference = await runBackbone(model, normaliseByHand(patternRgb(width, height), width, height, model, paddedWidth, paddedHeight), 1, paddedHeight, paddedWidth)
  t.equal(reference.tokens, 1 + options.registers + h * w)
  const expected = patchRowsAsGrid(reference.hidden, options.registers, 32, h, w)
  t.ok(maxAbsDiff(features.data as Float32Array, expected) < 1e-4, 'equal to the patch rows reshaped row-major')
}

t.test('/features at native size: [C, 20, 30] for 480×320 with patch 16 and 4 registers', (t) => checkNative(t, { patch: 16, registers: 4 }))
t.test('patch 14: the grid covers the padded input (23×35)', (t) => checkNative(t, { patch: 14, registers: 4 }))
t.test('no registers', (t) => checkNative(t, { patch: 16, registers: 0 }))
t.test('normalisation follows the folder: satellite mean and std', (t) => checkNative(t, { patch: 16, registers: 4, mean: SATELLITE_MEAN, std: SATELLITE_STD }))

t.test('the satellite folder gives a different answer than ImageNet normalisation would', async (t) => {
  const imagenet = syntheticModel({ preset: 'tiny', seed: 5 })
  const satellite = syntheticModel({ preset: 'tiny', seed: 5, mean: SATELLITE_MEAN, std: SATELLITE_STD })
  const png = await patternPng(64, 48)
  const answers = []
  for (const model of [imagenet, satellite]) {
    const app = await sharedApp(model)
    const response = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })
    answers.push(decodeNpy(response.rawPayload).data as Float32Array)
  }
  t.ok(maxAbsDiff(answers[0], answers[1]) > 0.01, 'same weights, different normalisation, different features')
})

t.test('size and the dense cap scale the image, keeping the aspect', async (t) => {
  const model = syntheticModel({ preset: 'tiny' })
  const app = await startApp(t, model, { DENSE_MAX_SIDE: '256' })
  const png = await patternPng(480, 320)
  const capped = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })
  t.same(decodeNpy(capped.rawPayload).shape, [32, 11, 16], '480×320 capped to 256×171, padded to 256×176')
  t.equal(capped.headers['x-model-input-size'], '256x176')

  const rgb = patternRgb(480, 320)
  const scaled = await sharp(rgb, { raw: { width: 480, height: 320, channels: 3 } }).resize(256, 171, { fit: 'fill', kernel: 'linear' }).raw().toBuffer()
  const reference = await runBackbone(model, normaliseByHand(scaled, 256, 171, model, 256, 176), 1, 176, 256)
  t.ok(maxAbsDiff(decodeNpy(capped.rawPayload).data as Float32Array, patchRowsAsGrid(reference.hidden, 4, 32, 11, 16)) < 1e-4)

  const small = await app.inject({ method: 'POST', url: '/features?size=160', headers: imageHeaders(), payload: png })
  t.same(decodeNpy(small.rawPayload).shape, [32, 7, 10], '160×107 padded to 160×112')
  const tooLarge = await app.inject({ method: 'POST', url: '/features?size=512', headers: imageHeaders(), payload: png })
  t.equal(tooLarge.statusCode, 400)
  t.match(tooLarge.json().message, /from 16 to 256/)
})

t.test('format=json carries shapes and the padding; format=png is a PCA picture at the input size', async (t) => {
  const app = await sharedApp(syntheticModel({ preset: 'tiny' }))
  const png = await patternPng(100, 60)
  const npy = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })
  const json = await app.inject({ method: 'POST', url: '/features?format=json', headers: imageHeaders(), payload: png })
  const image = json.json().images[0]
  t.same(image.shape, [32, 4, 7])
  t.same(image.input, { width: 100, height: 60 })
  t.same(image.model_input, { width: 112, height: 64, padding_right: 12, padding_bottom: 4 })
  t.ok(maxAbsDiff(image.features, decodeNpy(npy.rawPayload).data as Float32Array) === 0)

  const picture = await app.inject({ method: 'POST', url: '/features?format=png', headers: imageHeaders(), payload: png })
  t.equal(picture.headers['content-type'], 'image/png')
  const { info, data } = await sharp(picture.rawPayload).raw().toBuffer({ resolveWithObject: true })
  t.same([info.width, info.height, info.channels], [100, 60, 3])
  t.ok(new Set(data).size > 20, 'the picture is not flat')
})

t.test('several images: [N, C, h, w] in upload order', async (t) => {
  const { multipartBody } = await import('../helpers/images.js')
  const app = await sharedApp(syntheticModel({ preset: 'tiny' }))
  const images = [await patternPng(64, 48, 1), await patternPng(64, 48, 2)]
  const { body, contentType } = multipartBody(images.map((data) => ({ data })))
  const batch = decodeNpy((await app.inject({ method: 'POST', url: '/features', headers: { 'content-type': contentType }, payload: body })).rawPayload)
  t.same(batch.shape, [2, 32, 3, 4])
  for (const [i, image] of images.entries()) {
    const single = decodeNpy((await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: image })).rawPayload)
    const size = single.data.length
    t.ok(maxAbsDiff((batch.data as Float32Array).subarray(i * size, (i + 1) * size), single.data as Float32Array) < 1e-5, `image ${i}`)
  }
  const mixed = multipartBody([{ data: images[0] }, { data: await patternPng(100, 48) }])
  const refused = await app.inject({ method: 'POST', url: '/features', headers: { 'content-type': mixed.contentType }, payload: mixed.body })
  t.equal(refused.statusCode, 400)
  t.match(refused.json().message, /different sizes/)
})
