import t from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff } from '../helpers/reference.js'

const model = syntheticModel({ preset: 'tiny', seed: 41, heads: { classes: 7 } })

t.test('/analyze: one backbone run per image feeds every task, each answer equal to its endpoint\'s', async (t) => {
  const app = await startApp(t, model)
  const png = await patternPng(190, 120, 3)
  const backbone = app.modelHost.require().backbone
  const post = async (url: string) => app.inject({ method: 'POST', url, headers: imageHeaders(), payload: png })

  const before = backbone.runCount
  const analyze = await post('/analyze?tasks=embed,segment,depth&pool=cls%2Bmean&normalize=true')
  t.equal(analyze.statusCode, 200)
  t.equal(backbone.runCount - before, 1, 'the backbone ran once for three tasks')
  const [image] = analyze.json().images
  t.same([image.width, image.height], [190, 120])

  const separateBefore = backbone.runCount
  const embed = (await post('/embed?size=native&pool=cls%2Bmean&normalize=true')).json()
  const segment = await post('/segment')
  const depthPng = await post('/depth?format=png')
  const depthNpy = decodeNpy((await post('/depth')).rawPayload)
  t.equal(backbone.runCount - separateBefore, 4, 'the separate endpoints ran it once each')

  t.ok(maxAbsDiff(image.embedding.vector, embed.embeddings[0]) === 0, 'embedding = /embed?size=native')
  t.equal(image.embedding.dim, 64)
  t.ok(Buffer.from(image.segmentation.mask_png, 'base64').equals(segment.rawPayload), 'mask = /segment?format=png')
  t.ok(Buffer.from(image.depth.png16, 'base64').equals(depthPng.rawPayload), 'depth = /depth?format=png')
  t.equal(image.depth.scale, Number(depthPng.headers['x-depth-scale']))
  t.equal(image.depth.unit, 'm')
  const values = depthNpy.data as Float32Array
  t.equal(image.depth.min, Math.min(...values))
  t.equal(image.depth.max, Math.max(...values))
  const segmentJson = (await post('/segment?format=json')).json()
  t.same(image.segmentation.classes, segmentJson.images[0].classes, 'class summary = /segment?format=json')
})

t.test('any subset of tasks; several images batched in one backbone run; tiled heads', async (t) => {
  const app = await startApp(t, model)
  const backbone = app.modelHost.require().backbone
  const images = [await patternPng(96, 64, 1), await patternPng(96, 64, 2)]
  const { body, contentType } = multipartBody(images.map((data) => ({ data })))
  const before = backbone.runCount
  const response = await app.inject({ method: 'POST', url: '/analyze?tasks=depth', headers: { 'content-type': contentType }, payload: body })
  t.equal(response.statusCode, 200)
  t.equal(backbone.runCount - before, 1, 'two images, one batch')
  const answer = response.json()
  t.same(answer.tasks, ['depth'])
  t.equal(answer.images.length, 2)
  t.notOk('embedding' in answer.images[0])
  t.notOk('segmentation' in answer.images[0])
  t.not(answer.images[0].depth.png16, answer.images[1].depth.png16, 'in upload order, each its own')

  const png = await patternPng(300, 200)
  const tiled = (await app.inject({ method: 'POST', url: '/analyze?tasks=segment,depth&tile=128&overlap=32', headers: imageHeaders(), payload: png })).json()
  const segment = await app.inject({ method: 'POST', url: '/segment?tile=128&overlap=32', headers: imageHeaders(), payload: png })
  t.ok(Buffer.from(tiled.images[0].segmentation.mask_png, 'base64').equals(segment.rawPayload), 'tiled mask = tiled /segment')
})

t.test('bad requests', async (t) => {
  const app = await startApp(t, model)
  const png = await patternPng(64, 64)
  const cases: Array<[string, number, RegExp]> = [
    ['/analyze?tasks=embed,classify', 400, /unknown task classify; tasks are embed, segment, depth/],
    ['/analyze?tasks=embed&tile=128', 400, /tiles have no single CLS token/],
    ['/analyze?tasks=segment&segment_head=nope', 404, /no head "nope"; heads: depth \(depth\), segmentation \(segmentation\)/],
    ['/analyze?tasks=Embed', 400, /tasks/]
  ]
  for (const [url, status, message] of cases) {
    const response = await app.inject({ method: 'POST', url, headers: imageHeaders(), payload: png })
    t.equal(response.statusCode, status, url)
    t.match(response.json().message, message, url)
  }
})
