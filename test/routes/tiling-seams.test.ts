import sharp from 'sharp'
import t from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { planWindows } from '../../src/inference/dense/window-plan.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { syntheticModel } from '../helpers/models.js'
import { seamRatio } from '../helpers/seams.js'

const model = syntheticModel({ preset: 'tiny', seed: 31, heads: { classes: 5 } })
const size = 512

/** A flat colour, and a smooth gradient over all three channels: what the window grid would show on. */
async function images (): Promise<Array<[string, Buffer]>> {
  const flat = await sharp({ create: { width: size, height: size, channels: 3, background: { r: 120, g: 140, b: 90 } } }).png().toBuffer()
  const rgb = Buffer.alloc(size * size * 3)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) rgb.set([40 + x * 160 / size, 60 + y * 150 / size, 100 + (x + y) * 50 / size], (y * size + x) * 3)
  }
  return [['flat', flat], ['smooth', await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer()]]
}

/** Seam ratios of tiled depth (npy, at the image's size), features (npy, patch grid) and their PCA picture (png). */
async function seams (app: Awaited<ReturnType<typeof startApp>>, image: Buffer, tile: number, overlap: number): Promise<Record<string, number>> {
  const plan = planWindows({ width: size, height: size }, { tile, overlap }, 16, 1024)
  const post = async (path: string): Promise<Buffer> => {
    const response = await app.inject({ method: 'POST', url: `${path}&tile=${tile}&overlap=${overlap}`, headers: imageHeaders(), payload: image })
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${response.body}`)
    return response.rawPayload
  }
  const depth = decodeNpy(await post('/depth?format=npy'))
  const features = decodeNpy(await post('/features?format=npy'))
  const [channels, gridHeight, gridWidth] = features.shape
  const pca = await sharp(await post('/features?format=png')).raw().toBuffer({ resolveWithObject: true })
  const { width, height, channels: bands } = pca.info
  const planar = new Float32Array(bands * width * height)
  for (let i = 0; i < width * height; i++) for (let k = 0; k < bands; k++) planar[k * width * height + i] = pca.data[i * bands + k]
  return {
    depth: seamRatio(depth.data, 1, size, size, plan),
    features: seamRatio(features.data, channels, gridWidth, gridHeight, plan),
    pca: seamRatio(planar, bands, width, height, plan)
  }
}

// What the smoothstep cross-fade achieves on this model (the largest of the cases below: 1.05 depth, 1.09 features,
// 1.06 PCA; the linear ramp it replaced reached 1.14, 1.23 and 1.16), with a little margin. The outputs are
// deterministic, so the margin only absorbs floating-point summation order.
const bound = 1.15

t.test('tiled depth and features show no window grid on flat and smooth images: borders are no rougher than the rest', async (t) => {
  const app = await startApp(t, model)
  for (const [name, image] of await images()) {
    // The default overlap (a quarter of the tile), with and without the shifted last window.
    for (const [tile, overlap] of [[128, 32], [192, 48]]) {
      const ratios = await seams(app, image, tile, overlap)
      t.comment(`${name} tile=${tile} overlap=${overlap}: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`)
      for (const [output, ratio] of Object.entries(ratios)) t.ok(ratio <= bound, `${name} ${tile}/${overlap} ${output}: seam ratio ${ratio.toFixed(3)} <= ${bound}`)
    }
  }
})

t.test('the measure sees the seams of windows that do not overlap', async (t) => {
  const app = await startApp(t, model)
  for (const [name, image] of await images()) {
    const ratios = await seams(app, image, 128, 0)
    t.comment(`${name} tile=128 overlap=0: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`)
    for (const [output, ratio] of Object.entries(ratios)) t.ok(ratio > 3, `${name} ${output}: ${ratio.toFixed(2)} with hard cuts`)
  }
})
