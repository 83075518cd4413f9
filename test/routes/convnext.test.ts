import t from 'tap'
import sharp from 'sharp'
import { decodeNpy } from '../../src/image/npy.js'
import { sharedApp, startApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternPng, patternRgb, rawInput } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { bilinearAt, maxAbsDiff, normaliseByHand, runBackbone, runHeadOnTokens, type ReferenceRun } from '../helpers/reference.js'

// A DINOv3 ConvNeXt folder: hidden_sizes [24, 48, 96, 192], stride 32, no registers, row 0 the pooled token.
const model = syntheticModel({ family: 'convnext', preset: 'tiny', seed: 41, heads: { classes: 5 } })
const channels = 192
const stride = 32

const npy = (payload: Buffer): { shape: number[], data: Float32Array } => {
  const decoded = decodeNpy(payload)
  return { shape: decoded.shape, data: decoded.data as Float32Array }
}

/** Rows 1.. of last_hidden_state (the grid, row-major), reshaped by hand into [C, h, w]. */
function gridRows (run: ReferenceRun, h: number, w: number): Float32Array {
  const grid = new Float32Array(channels * h * w)
  for (let cell = 0; cell < h * w; cell++) {
    for (let c = 0; c < channels; c++) grid[c * h * w + cell] = run.hidden[(1 + cell) * channels + c]
  }
  return grid
}

/** The raw graph on the image padded (with zeros after normalisation, as the service pads) to the stride. */
async function rawRun (width: number, height: number): Promise<{ run: ReferenceRun, h: number, w: number, paddedWidth: number, paddedHeight: number }> {
  const [h, w] = [Math.ceil(height / stride), Math.ceil(width / stride)]
  const [paddedWidth, paddedHeight] = [w * stride, h * stride]
  const run = await runBackbone(model, normaliseByHand(patternRgb(width, height), width, height, model, paddedWidth, paddedHeight), 1, paddedHeight, paddedWidth)
  return { run, h, w, paddedWidth, paddedHeight }
}

t.test('/models: family convnext, "patch" 32 (the stride), 0 registers, dim = hidden_sizes[-1], heads sized for it', async (t) => {
  const app = await sharedApp(model)
  const response = await app.inject({ method: 'GET', url: '/models' })
  t.equal(response.statusCode, 200)
  const { backbone, heads } = response.json()
  t.match(backbone, { type: 'dinov3_convnext', family: 'convnext', patch_size: 32, hidden_size: 192, registers: 0, synthetic: true, input_size: { height: 224, width: 224 } })
  t.same(heads.map((h: { name: string }) => h.name).sort(), ['depth', 'segmentation'])
  const vit = await sharedApp(syntheticModel({ preset: 'tiny' }))
  t.match((await vit.inject({ method: 'GET', url: '/models' })).json().backbone, { type: 'dinov3_vit', family: 'vit', patch_size: 16, registers: 4 })
})

t.test('/embed: cls is row 0 of the raw graph (the normed mean of the final map); mean pools rows 1..', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(224, 224)
  const reference = await runBackbone(model, normaliseByHand(patternRgb(224, 224), 224, 224, model), 1, 224, 224)
  t.equal(reference.tokens, 1 + 7 * 7, 'a pooled token and the 7×7 grid')

  const cls = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders('image/png'), payload: png })
  t.equal(cls.statusCode, 200)
  t.equal(cls.json().dim, channels)
  const clsDiff = maxAbsDiff(cls.json().embeddings[0], reference.hidden.subarray(0, channels))
  t.ok(clsDiff < 1e-5, `row 0: max |diff| ${clsDiff}`)

  const mean = new Float32Array(channels)
  for (let token = 1; token < reference.tokens; token++) {
    for (let c = 0; c < channels; c++) mean[c] += reference.hidden[token * channels + c] / (reference.tokens - 1)
  }
  const pooled = await app.inject({ method: 'POST', url: '/embed?pool=mean', headers: imageHeaders(), payload: png })
  const meanDiff = maxAbsDiff(pooled.json().embeddings[0], mean)
  t.ok(meanDiff < 1e-5, `mean of rows 1..: max |diff| ${meanDiff}`)
  t.ok(maxAbsDiff(cls.json().embeddings[0], mean) > 0.1, 'row 0 is not the mean of the normed rows: it is normed after pooling')

  // Any other size goes through the processor's resize first, as for a ViT.
  const rgb = patternRgb(500, 375)
  const resized = await sharp(rgb, rawInput(500, 375)).resize(224, 224, { fit: 'fill', kernel: 'linear' }).raw().toBuffer()
  const resizedReference = await runBackbone(model, normaliseByHand(resized, 224, 224, model), 1, 224, 224)
  const large = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: await sharp(rgb, rawInput(500, 375)).png().toBuffer() })
  t.ok(maxAbsDiff(large.json().embeddings[0], resizedReference.hidden.subarray(0, channels)) < 1e-5, '500×375 resized to 224×224')
})

t.test('/features: rows 1.. reshaped to [C, h, w] with h = ceil(H/32), non-square and padded inputs too', async (t) => {
  const app = await sharedApp(model)
  for (const [width, height] of [[320, 224], [300, 200], [96, 250]]) {
    const { run, h, w, paddedWidth, paddedHeight } = await rawRun(width, height)
    t.equal(run.tokens, 1 + h * w)
    const response = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: await patternPng(width, height) })
    t.equal(response.statusCode, 200)
    const features = npy(response.rawPayload)
    t.same(features.shape, [channels, h, w], `${width}×${height}: [C, ${h}, ${w}]`)
    t.equal(response.headers['x-patch-grid'], `${h}x${w}`)
    t.equal(response.headers['x-model-input-padding'], `right=${paddedWidth - width},bottom=${paddedHeight - height}`)
    const diff = maxAbsDiff(features.data, gridRows(run, h, w))
    t.ok(diff < 1e-5, `${width}×${height}: max |diff| ${diff}`)
  }
})

t.test('heads on the stride-32 grid: /depth and /segment equal the heads run by hand, resampled to the input', async (t) => {
  const app = await sharedApp(model)
  const [width, height] = [300, 200]
  const png = await patternPng(width, height)
  const { run, h, w, paddedWidth, paddedHeight } = await rawRun(width, height)

  const depthRun = await runHeadOnTokens(model, 'depth', run, 0, h, w)
  const depth = npy((await app.inject({ method: 'POST', url: '/depth', headers: imageHeaders(), payload: png })).rawPayload)
  t.same(depth.shape, [height, width])
  let worst = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const expected = bilinearAt(depthRun.data, w, h, w / paddedWidth, h / paddedHeight, x, y)
      worst = Math.max(worst, Math.abs(depth.data[y * width + x] - expected))
    }
  }
  t.ok(worst < 1e-4, `depth: max |diff| ${worst}`)

  const logits = await runHeadOnTokens(model, 'segmentation', run, 0, h, w)
  t.same(logits.dims, [1, 5, h, w])
  const response = await app.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: png })
  t.equal(response.statusCode, 200)
  const { data: labels, info } = await sharp(response.rawPayload).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true })
  t.same([info.width, info.height], [width, height])
  let disagreements = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const scores = Array.from({ length: 5 }, (_, k) => bilinearAt(logits.data.subarray(k * h * w, (k + 1) * h * w), w, h, w / paddedWidth, h / paddedHeight, x, y))
      const sorted = [...scores].sort((a, b) => b - a)
      if (labels[y * width + x] !== scores.indexOf(sorted[0]) && sorted[0] - sorted[1] > 1e-4) disagreements += 1
    }
  }
  t.equal(disagreements, 0, 'every pixel takes the argmax of the bilinear logits')
  t.ok(new Set(labels).size > 1, 'several classes appear')
})

t.test('tiling: windows on the 32 grid; inside the part only the first window covers, it is that window run alone', async (t) => {
  const app = await sharedApp(model)
  const size = 400
  const rgb = patternRgb(size, size, 4)
  const png = await sharp(rgb, rawInput(size, size)).png().toBuffer()
  // Canvas 416 (13 cells); tile 192, overlap 32: windows start at 0, 160, 224; the first covers cells 0..4 alone.
  const window = Buffer.alloc(192 * 192 * 3)
  for (let y = 0; y < 192; y++) rgb.copy(window, y * 192 * 3, y * size * 3, (y * size + 192) * 3)
  const alone = await runBackbone(model, normaliseByHand(window, 192, 192, model), 1, 192, 192)
  t.equal(alone.tokens, 1 + 6 * 6)

  const response = await app.inject({ method: 'POST', url: '/features?tile=192&overlap=32', headers: imageHeaders(), payload: png })
  t.equal(response.statusCode, 200)
  const features = npy(response.rawPayload)
  t.same(features.shape, [channels, 13, 13])
  let worst = 0
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 5; col++) {
      for (let c = 0; c < channels; c++) {
        worst = Math.max(worst, Math.abs(features.data[c * 169 + row * 13 + col] - alone.hidden[(1 + row * 6 + col) * channels + c]))
      }
    }
  }
  t.ok(worst < 1e-5, `features: max |diff| ${worst}`)

  const depthAlone = await runHeadOnTokens(model, 'depth', alone, 0, 6, 6)
  const depth = npy((await app.inject({ method: 'POST', url: '/depth?tile=192&overlap=32', headers: imageHeaders(), payload: png })).rawPayload)
  t.same(depth.shape, [size, size])
  worst = 0
  for (let y = 0; y < 144; y++) {
    for (let x = 0; x < 144; x++) worst = Math.max(worst, Math.abs(depth.data[y * size + x] - bilinearAt(depthAlone.data, 6, 6, 1 / 32, 1 / 32, x, y)))
  }
  t.ok(worst < 1e-4, `depth head in the first window: max |diff| ${worst}`)

  const segment = await app.inject({ method: 'POST', url: '/segment?tile=100', headers: imageHeaders(), payload: png })
  t.equal(segment.statusCode, 200, 'tile=100 is rounded down to 96, three cells')
  t.same(await sharp(segment.rawPayload).metadata().then((m) => [m.width, m.height, m.channels]), [size, size, 1])
  const small = await app.inject({ method: 'POST', url: '/segment?tile=16', headers: imageHeaders(), payload: png })
  t.equal(small.statusCode, 400)
  t.match(small.json().message, /tile=16 is out of range: use 32 to \d+ pixels/)
  const bigger = await app.inject({ method: 'POST', url: '/features?tile=512', headers: imageHeaders(), payload: png })
  const whole = await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })
  t.equal(maxAbsDiff(npy(bigger.rawPayload).data, npy(whole.rawPayload).data), 0, 'a tile larger than the image is the untiled answer')
})

t.test('several images in one request share a backbone batch and answer as each would alone', async (t) => {
  const app = await startApp(t, model, { MAX_BATCH_SIZE: '4' })
  const images = await Promise.all([1, 2, 3].map((seed) => patternPng(256, 160, seed)))
  const { body, contentType } = multipartBody(images.map((data) => ({ data })))
  const runsBefore = app.modelHost.require().backbone.runCount
  const together = await app.inject({ method: 'POST', url: '/features', headers: { 'content-type': contentType }, payload: body })
  t.equal(app.modelHost.require().backbone.runCount - runsBefore, 1, 'one backbone run for the three')
  const batch = npy(together.rawPayload)
  t.same(batch.shape, [3, channels, 5, 8])
  for (const [i, png] of images.entries()) {
    const alone = npy((await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })).rawPayload)
    t.equal(maxAbsDiff(batch.data.subarray(i * alone.data.length, (i + 1) * alone.data.length), alone.data), 0, `image ${i}`)
  }
})
