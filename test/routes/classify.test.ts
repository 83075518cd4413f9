import { join } from 'node:path'
import ort from 'onnxruntime-node'
import t from 'tap'
import type { Test } from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { syntheticCategories } from '../../src/synthetic/synthetic-model.js'
import { sharedApp, startApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

const categories = 7
const model = syntheticModel({ preset: 'tiny', seed: 5, heads: { classes: 4, classification: categories } })
const channels = 32
const labels = syntheticCategories(categories)

/** The head graph run on its own, on features the service gave through /embed and /features. */
async function referenceScores (cls: number[], grid: Float32Array, height: number, width: number): Promise<Array<{ label: string, score: number }>> {
  const session = await ort.InferenceSession.create(join(model, 'heads', 'classification', 'model.onnx'))
  try {
    const output = await session.run({
      cls_token: new ort.Tensor('float32', Float32Array.from(cls), [1, channels]),
      patch_features: new ort.Tensor('float32', grid, [1, channels, height, width])
    })
    const probabilities = output.probabilities.data as Float32Array
    return Array.from(probabilities, (score, i) => ({ label: labels[i], score })).sort((a, b) => b.score - a.score)
  } finally {
    await session.release()
  }
}

function near (t: Test, actual: Array<{ label: string, score: number }>, expected: Array<{ label: string, score: number }>, what: string): void {
  t.same(actual.map((l) => l.label), expected.map((l) => l.label), `${what}: the same classes in the same order`)
  t.ok(actual.every((l, i) => Math.abs(l.score - expected[i].score) < 1e-5), `${what}: the same scores`)
}

t.test('/classify answers what the head graph gives on /embed\'s CLS token and /features\' patch grid', async (t) => {
  const app = await sharedApp(model)
  // At 224×224 the processor's resize is the identity, so /features (native) sees the very pixels /classify does.
  const png = await patternPng(224, 224, 4)
  const cls = (await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })).json().embeddings[0]
  const features = decodeNpy((await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })).rawPayload)
  t.same(features.shape, [channels, 14, 14])
  const expected = await referenceScores(cls, features.data as Float32Array, 14, 14)

  const response = await app.inject({ method: 'POST', url: `/classify?top_k=${categories}`, headers: imageHeaders('image/png'), payload: png })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-head'], 'classification')
  t.equal(response.headers['x-classes'], String(categories))
  const body = response.json()
  t.same(Object.keys(body), ['labels'], 'one image: one object, {labels}')
  near(t, body.labels, expected, 'all classes')
  t.ok(Math.abs(body.labels.reduce((sum: number, l: { score: number }) => sum + l.score, 0) - 1) < 1e-5, 'softmax scores sum to 1')

  const top3 = (await app.inject({ method: 'POST', url: '/classify?top_k=3&head=classification', headers: imageHeaders(), payload: png })).json()
  near(t, top3.labels, expected.slice(0, 3), 'top_k=3')
  const byDefault = (await app.inject({ method: 'POST', url: '/classify', headers: imageHeaders(), payload: png })).json()
  near(t, byDefault.labels, expected.slice(0, 5), 'top_k defaults to 5')
})

t.test('/classify runs at the processor size: a non-square image is resized as /embed resizes it', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(300, 180, 6)
  const cls = (await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })).json().embeddings[0]
  const mean = (await app.inject({ method: 'POST', url: '/embed?pool=mean', headers: imageHeaders(), payload: png })).json().embeddings[0]
  // The head averages the grid, so the mean patch token as a 1×1 grid is the same input.
  const expected = await referenceScores(cls, Float32Array.from(mean), 1, 1)
  const body = (await app.inject({ method: 'POST', url: `/classify?top_k=${categories}`, headers: imageHeaders(), payload: png })).json()
  t.same(body.labels.map((l: { label: string }) => l.label), expected.map((l) => l.label))
  t.ok(body.labels.every((l: { score: number }, i: number) => Math.abs(l.score - expected[i].score) < 1e-4), 'scores from the processor-size pass')
})

t.test('several images answer an array in upload order, each as alone', async (t) => {
  const app = await sharedApp(model)
  const images = [await patternPng(224, 224, 1), await patternPng(160, 240, 2), await patternPng(224, 224, 3)]
  const alone: Array<{ labels: Array<{ label: string, score: number }> }> = []
  for (const image of images) alone.push((await app.inject({ method: 'POST', url: '/classify?top_k=4', headers: imageHeaders(), payload: image })).json())
  const { body, contentType } = multipartBody(images.map((data) => ({ data })))
  const response = await app.inject({ method: 'POST', url: '/classify?top_k=4', headers: { 'content-type': contentType }, payload: body })
  t.equal(response.statusCode, 200)
  const batch = response.json()
  t.ok(Array.isArray(batch))
  t.equal(batch.length, 3)
  batch.forEach((answer: { labels: Array<{ label: string, score: number }> }, i: number) => near(t, answer.labels, alone[i].labels, `image ${i + 1}`))
})

t.test('/classify refuses a bad top_k, a head of another task and an unknown head', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(64, 64)
  const ask = async (query: string) => app.inject({ method: 'POST', url: `/classify?${query}`, headers: imageHeaders(), payload: png })
  for (const query of ['top_k=0', `top_k=${categories + 1}`, 'top_k=two', 'top_k=2.5']) {
    const response = await ask(query)
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().error, 'bad_request', query)
  }
  t.match((await ask(`top_k=${categories + 1}`)).json().message, `head "classification" has ${categories} classes, so use 1 to ${categories}`)
  const wrongTask = await ask('head=segmentation')
  t.equal(wrongTask.statusCode, 400)
  t.match(wrongTask.json().message, 'head "segmentation" does segmentation, not classification')
  const unknown = await ask('head=nope')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json().message, 'no head "nope"')
})

t.test('a model without a classification head answers 404 naming the heads, and /models lists the classification head', async (t) => {
  const without = await startApp(t, syntheticModel({ preset: 'tiny', seed: 5, heads: true }))
  const response = await without.inject({ method: 'POST', url: '/classify', headers: imageHeaders(), payload: await patternPng(32, 32) })
  t.equal(response.statusCode, 404)
  t.match(response.json().message, 'this model has no classification head; heads: depth (depth), segmentation (segmentation)')

  const app = await sharedApp(model)
  const heads = (await app.inject('/models')).json().heads
  const head = heads.find((h: { name: string }) => h.name === 'classification')
  t.same(head, { name: 'classification', task: 'classification', inputs: ['cls_token', 'patch_features'], labels })
})
