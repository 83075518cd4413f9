import t from 'tap'
import sharp from 'sharp'
import { startApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternJpeg, patternPng, patternRgb, rawInput } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff } from '../helpers/reference.js'

const model = syntheticModel({ preset: 'tiny', seed: 11 })

async function embedOne (app: Awaited<ReturnType<typeof startApp>>, image: Buffer, query = ''): Promise<number[]> {
  const response = await app.inject({ method: 'POST', url: `/embed${query}`, headers: imageHeaders(), payload: image })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json().embeddings[0]
}

t.test('a batched answer equals the single answer for the same images', async (t) => {
  const app = await startApp(t, model, { BATCH_WAIT_MS: '200', MAX_BATCH_SIZE: '8' })
  const images = await Promise.all([1, 2, 3, 4, 5].map(async (seed) => patternPng(96, 80, seed)))
  const runsBefore = app.modelHost.require().backbone.runCount
  const together = await Promise.all(images.map(async (image) => embedOne(app, image, '?size=native')))
  t.equal(app.modelHost.require().backbone.runCount - runsBefore, 1, 'five concurrent requests, one backbone run')

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_batch_size_bucket\{le="4"\} 0\n/, 'no batch of four or fewer yet')
  t.match(metrics, /dinov3_batch_size_bucket\{le="6"\} 1\n/, 'one batch of five')

  const alone = await startApp(t, model, { MAX_BATCH_SIZE: '1' })
  for (const [i, image] of images.entries()) {
    const single = await embedOne(alone, image, '?size=native')
    t.ok(maxAbsDiff(together[i], single) < 1e-5, `image ${i}: batched equals single`)
  }
})

t.test('multipart with 3 files returns 3 embeddings in upload order, as one batch', async (t) => {
  const app = await startApp(t, model)
  const images = await Promise.all([7, 8, 9].map(async (seed) => patternPng(224, 224, seed)))
  const { body, contentType } = multipartBody(images.map((data, i) => ({ data, name: `photo-${i}.png`, type: 'image/png' })))
  const runsBefore = app.modelHost.require().backbone.runCount
  const response = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': contentType }, payload: body })
  t.equal(response.statusCode, 200)
  t.equal(app.modelHost.require().backbone.runCount - runsBefore, 1, 'one backbone run for the three files')
  const embeddings: number[][] = response.json().embeddings
  t.equal(embeddings.length, 3)
  for (const [i, image] of images.entries()) {
    t.ok(maxAbsDiff(embeddings[i], await embedOne(app, image)) < 1e-5, `file ${i} in its place`)
  }
  t.ok(maxAbsDiff(embeddings[0], embeddings[1]) > 1e-3, 'the files differ, so order matters')
})

t.test('other encodings of the same picture give the same embedding', async (t) => {
  const app = await startApp(t, model)
  const [width, height] = [224, 224]
  const plain = patternRgb(width, height)
  const reference = await embedOne(app, await sharp(plain, rawInput(width, height)).png().toBuffer())
  const rotated = await sharp(plain, rawInput(width, height)).rotate(90).raw().toBuffer()
  const rgba = Buffer.alloc(width * height * 4, 255)
  for (let i = 0; i < width * height; i++) plain.copy(rgba, i * 4, i * 3, i * 3 + 3)
  const variants: Record<string, Promise<Buffer>> = {
    'EXIF-rotated WebP': sharp(rotated, rawInput(width, height)).withMetadata({ orientation: 8 }).webp({ lossless: true }).toBuffer(),
    RGBA: sharp(rgba, rawInput(width, height, 4)).png().toBuffer(),
    '16-bit PNG': sharp(plain, rawInput(width, height)).toColourspace('rgb16').png().toBuffer(),
    TIFF: sharp(plain, rawInput(width, height)).tiff({ compression: 'deflate' }).toBuffer(),
    AVIF: sharp(plain, rawInput(width, height)).avif({ lossless: true }).toBuffer()
  }
  for (const [name, bytes] of Object.entries(variants)) {
    t.ok(maxAbsDiff(await embedOne(app, await bytes), reference) < 1e-4, name)
  }
  const gray = Buffer.from(Array.from({ length: width * height }, (_, i) => plain[i * 3 + 1]))
  const grayAsRgb = Buffer.from(Array.from(gray).flatMap((v) => [v, v, v]))
  t.ok(maxAbsDiff(
    await embedOne(app, await sharp(gray, rawInput(width, height, 1)).png().toBuffer()),
    await embedOne(app, await sharp(grayAsRgb, rawInput(width, height)).png().toBuffer())) < 1e-4, 'grayscale equals its RGB copy')

  const cosine = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0) / Math.hypot(...a) / Math.hypot(...b)
  const cmyk = await embedOne(app, await sharp(plain, rawInput(width, height)).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer())
  t.ok(cosine(cmyk, reference) > 0.9, 'CMYK JPEG: no exact equivalent, but close after colour management')
  const gif = await embedOne(app, await sharp(plain, rawInput(width, height)).gif().toBuffer())
  t.ok(cosine(gif, reference) > 0.9, 'GIF: palette-reduced, close')
})

t.test('many concurrent requests, batched on reused tensors, each get their own image\'s embedding', async (t) => {
  const app = await startApp(t, model, { BATCH_WAIT_MS: '30', MAX_BATCH_SIZE: '4' })
  // PNGs normalised on the event loop and JPEGs that the native decoder writes straight into pooled tensors.
  const images = await Promise.all([
    ...[21, 22, 23].map(async (seed) => patternPng(120, 90, seed)),
    ...[24, 25, 26].map(async (seed) => patternJpeg(500, 375, seed))
  ])
  const order = Array.from({ length: 24 }, (_, i) => (i * 5) % images.length)
  const runsBefore = app.modelHost.require().backbone.runCount
  const answers = await Promise.all(order.map(async (k) => embedOne(app, images[k])))
  t.ok(app.modelHost.require().backbone.runCount - runsBefore < 24, 'some requests shared a batch')
  const alone = await startApp(t, model, { MAX_BATCH_SIZE: '1' })
  const singles = await Promise.all(images.map(async (image) => embedOne(alone, image)))
  t.ok(maxAbsDiff(singles[0], singles[1]) > 1e-3, 'the images differ, so a mix-up would show')
  const worst = Math.max(...answers.map((answer, i) => maxAbsDiff(answer, singles[order[i]])))
  t.ok(worst < 1e-5, `every answer equals its image's single answer (worst difference ${worst})`)
})

t.test('with two inference instances, concurrent requests run on both, and every answer equals the single instance\'s', async (t) => {
  const withHeads = syntheticModel({ preset: 'tiny', seed: 11, heads: true })
  const app = await startApp(t, withHeads, { INFERENCE_INSTANCES: '2', INTRA_OP_THREADS: '1', MAX_BATCH_SIZE: '2', ADAPTIVE_BATCH_SIZE: 'false' })
  const engine = app.modelHost.require()
  t.equal(engine.backbones.length, 2)
  t.not(engine.hosts[0].threadId, engine.hosts[1].threadId, 'each instance has an inference thread of its own')
  const images = await Promise.all([21, 22, 23, 24, 25, 26, 27, 28].map(async (seed) => patternPng(96, 80, seed)))
  const before = engine.backbones.map((backbone) => backbone.runCount)
  const together = await Promise.all(images.map(async (image) => embedOne(app, image, '?size=native')))
  const ran = engine.backbones.map((backbone, i) => backbone.runCount - before[i])
  t.ok(ran.every((runs) => runs > 0), `both instances ran (${ran.join(' and ')} batches)`)
  t.equal(engine.backboneRuns, before[0] + before[1] + ran[0] + ran[1])

  const segmented = await app.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: images[0] })
  t.equal(segmented.statusCode, 200, 'heads run on the first instance\'s thread')

  const alone = await startApp(t, withHeads, { MAX_BATCH_SIZE: '1' })
  for (const [i, image] of images.entries()) {
    t.ok(maxAbsDiff(together[i], await embedOne(alone, image, '?size=native')) < 1e-5, `image ${i}: equals the single instance's answer`)
  }
  const single = await alone.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: images[0] })
  t.ok(segmented.rawPayload.equals(single.rawPayload), 'the same segmentation')
})
