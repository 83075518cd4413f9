import t from 'tap'
import sharp from 'sharp'
import { decodeNpy } from '../../src/image/npy.js'
import { readPngText } from '../../src/image/png.js'
import { sharedApp, startApp, imageHeaders } from '../helpers/app.js'
import { patternPng, patternRgb } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { bilinearAt, normaliseByHand, runBackbone, runHeadOnTokens } from '../helpers/reference.js'

const model = syntheticModel({ preset: 'tiny', seed: 21, heads: { classes: 6 } })
const [width, height] = [200, 130]

/** The expected answer, computed without the service: hand preprocessing, plain ORT runs, per-pixel bilinear. */
async function reference (head: 'segmentation' | 'depth'): Promise<{ planes: Float32Array[], stepX: number, stepY: number, mapWidth: number, mapHeight: number }> {
  const [paddedWidth, paddedHeight] = [208, 144]
  const run = await runBackbone(model, normaliseByHand(patternRgb(width, height), width, height, model, paddedWidth, paddedHeight), 1, paddedHeight, paddedWidth)
  const output = await runHeadOnTokens(model, head, run, 4, 9, 13)
  const [, planes, mapHeight, mapWidth] = output.dims
  const cells = mapWidth * mapHeight
  return {
    planes: Array.from({ length: planes }, (_, k) => output.data.subarray(k * cells, (k + 1) * cells)),
    stepX: mapWidth / paddedWidth,
    stepY: mapHeight / paddedHeight,
    mapWidth,
    mapHeight
  }
}

t.test('/depth: float32 [H, W] at the input\'s exact size, equal to the head run by hand and resampled bilinearly', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(width, height)
  const response = await app.inject({ method: 'POST', url: '/depth', headers: imageHeaders(), payload: png })
  t.equal(response.statusCode, 200)
  const depth = decodeNpy(response.rawPayload)
  t.same(depth.shape, [height, width], 'not a multiple of the patch, still the exact size')
  const ref = await reference('depth')
  let worst = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const expected = bilinearAt(ref.planes[0], ref.mapWidth, ref.mapHeight, ref.stepX, ref.stepY, x, y)
      worst = Math.max(worst, Math.abs((depth.data as Float32Array)[y * width + x] - expected))
    }
  }
  t.ok(worst < 1e-4, `max |diff| ${worst}`)
  t.equal(response.headers['x-depth-unit'], 'm')

  const png16 = await app.inject({ method: 'POST', url: '/depth?format=png', headers: imageHeaders(), payload: png })
  const scale = Number(png16.headers['x-depth-scale'])
  const offset = Number(png16.headers['x-depth-offset'])
  t.match(readPngText(png16.rawPayload), { depth_scale: String(scale), depth_offset: String(offset), depth_unit: 'm' }, 'the scale travels in the PNG too')
  const { data, info } = await sharp(png16.rawPayload).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
  t.same([info.width, info.height, info.channels], [width, height, 1])
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2)
  let decodedWorst = 0
  for (let i = 0; i < values.length; i++) decodedWorst = Math.max(decodedWorst, Math.abs(offset + scale * values[i] - (depth.data as Float32Array)[i]))
  t.ok(decodedWorst <= scale / 2 + 1e-6, '16-bit values decode to the npy depth within half a step')

  const color = await app.inject({ method: 'POST', url: '/depth?format=color', headers: imageHeaders(), payload: png })
  const colorInfo = await sharp(color.rawPayload).metadata()
  t.same([colorInfo.width, colorInfo.height, colorInfo.channels], [width, height, 3])
})

t.test('/segment: label PNG at the input\'s size; argmax of bilinear logits; json counts; overlay', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(width, height)
  const response = await app.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: png })
  t.equal(response.statusCode, 200)
  const { data: labels, info } = await sharp(response.rawPayload).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true })
  t.same([info.width, info.height, info.channels], [width, height, 1])
  const ref = await reference('segmentation')
  let disagreements = 0
  const counts = new Array(6).fill(0)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const logits = ref.planes.map((plane) => bilinearAt(plane, ref.mapWidth, ref.mapHeight, ref.stepX, ref.stepY, x, y))
      const sorted = [...logits].sort((a, b) => b - a)
      const best = logits.indexOf(sorted[0])
      counts[labels[y * width + x]] += 1
      // Only a near-tie may fall either way between two float orders of summation.
      if (labels[y * width + x] !== best && sorted[0] - sorted[1] > 1e-4) disagreements += 1
    }
  }
  t.equal(disagreements, 0, 'every pixel takes the argmax of the bilinear logits')
  t.ok(new Set(labels).size > 1, 'several classes appear')

  const json = (await app.inject({ method: 'POST', url: '/segment?format=json', headers: imageHeaders(), payload: png })).json()
  t.same(json.labels, ['class_0', 'class_1', 'class_2', 'class_3', 'class_4', 'class_5'])
  const classes = json.images[0].classes
  t.equal(classes.reduce((sum: number, c: { pixels: number }) => sum + c.pixels, 0), width * height, 'counts add up to the pixels')
  for (const c of classes) t.equal(c.pixels, counts[c.index], `${c.label} count`)

  const overlay = await app.inject({ method: 'POST', url: '/segment?format=overlay', headers: imageHeaders(), payload: png })
  const overlayInfo = await sharp(overlay.rawPayload).metadata()
  t.same([overlayInfo.width, overlayInfo.height, overlayInfo.channels], [width, height, 3])
  t.match(overlay.headers['x-legend'], /^class_\d=#[0-9a-f]{6}(;class_\d=#[0-9a-f]{6})*$/)
})

t.test('more than 256 classes: a 16-bit label PNG', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny', seed: 2, heads: { classes: 300 } }))
  const response = await app.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: await patternPng(64, 40) })
  const metadata = await sharp(response.rawPayload).metadata()
  t.equal(metadata.depth, 'ushort')
  const { data } = await sharp(response.rawPayload).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2)
  t.ok(values.every((v) => v < 300), 'class indices')
  t.ok(values.some((v) => v >= 256) || new Set(values).size > 1, 'labels are not squeezed into 8 bits')
})

t.test('heads: unknown head 404 with the list; /models lists them', async (t) => {
  const app = await sharedApp(model)
  const png = await patternPng(64, 64)
  const unknown = await app.inject({ method: 'POST', url: '/segment?head=ade20k', headers: imageHeaders(), payload: png })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { error: 'not_found', message: 'no head "ade20k"; heads: depth (depth), segmentation (segmentation)' })
  const wrongTask = await app.inject({ method: 'POST', url: '/depth?head=segmentation', headers: imageHeaders(), payload: png })
  t.equal(wrongTask.statusCode, 400)
  const { heads } = (await app.inject({ method: 'GET', url: '/models' })).json()
  t.same(heads, [
    { name: 'depth', task: 'depth', inputs: ['patch_features', 'cls_token'], unit: 'm' },
    { name: 'segmentation', task: 'segmentation', inputs: ['patch_features'], labels: ['class_0', 'class_1', 'class_2', 'class_3', 'class_4', 'class_5'] }
  ])
  const noHeads = await startApp(t, syntheticModel({ preset: 'tiny', seed: 21 }))
  const none = await noHeads.inject({ method: 'POST', url: '/depth', headers: imageHeaders(), payload: png })
  t.equal(none.statusCode, 404)
  t.match(none.json().message, /no depth head; heads: \(none\)/)
})
