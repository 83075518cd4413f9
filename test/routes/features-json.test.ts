import t from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

const model = syntheticModel({ preset: 'tiny', seed: 12 })
const patch = 16

/** What the JSON answer holds for one image, built here from its .npy answer and its size. */
function expectedImage (npy: Buffer, width: number, height: number): unknown {
  const { shape, data } = decodeNpy(npy)
  const padded = { width: Math.ceil(width / patch) * patch, height: Math.ceil(height / patch) * patch }
  return {
    shape,
    input: { width, height },
    model_input: { ...padded, padding_right: padded.width - width, padding_bottom: padded.height - height },
    features: Array.from(data as Float32Array)
  }
}

// The JSON text is written on the post-processing pool, one part per image: it must be, byte for byte, what
// JSON.stringify writes for the nested answer (which is what the schema's serialiser wrote before).
t.test('format=json is byte for byte JSON.stringify of the answer, untiled, tiled and for several images', async (t) => {
  const app = await startApp(t, model)
  const name = (await app.inject({ method: 'GET', url: '/models' })).json().backbone.name
  const sizes = [[150, 70], [97, 130]]
  const pngs = await Promise.all(sizes.map(async ([width, height], i) => patternPng(width, height, i + 3)))
  for (const query of ['', '&tile=64&overlap=16']) {
    const npys = await Promise.all(pngs.map(async (payload) =>
      (await app.inject({ method: 'POST', url: `/features?format=npy${query}`, headers: imageHeaders(), payload })).rawPayload))
    const single = await app.inject({ method: 'POST', url: `/features?format=json${query}`, headers: imageHeaders(), payload: pngs[0] })
    t.equal(single.statusCode, 200)
    t.equal(single.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(Number(single.headers['content-length']), single.rawPayload.length, 'its length is announced')
    const one = JSON.stringify({ model: name, images: [expectedImage(npys[0], 150, 70)] })
    t.ok(single.rawPayload.equals(Buffer.from(one)), `one image${query}: the same ${one.length} bytes`)

    const { body, contentType } = multipartBody(pngs.map((data) => ({ data })))
    const batch = await app.inject({ method: 'POST', url: `/features?format=json${query}`, headers: { 'content-type': contentType }, payload: body })
    t.equal(batch.statusCode, 200)
    const both = JSON.stringify({ model: name, images: sizes.map(([width, height], i) => expectedImage(npys[i], width, height)) })
    t.ok(batch.rawPayload.equals(Buffer.from(both)), `two images of different grids${query}: the same ${both.length} bytes`)
    t.equal(Number(batch.headers['content-length']), both.length)
  }
})
