import t from 'tap'
import sharp from 'sharp'
import { decodeNpy } from '../../src/image/npy.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { patternPng, patternRgb, rawInput } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { bilinearAt, maxAbsDiff, normaliseByHand, runBackbone, runHeadOnTokens } from '../helpers/reference.js'

const model = syntheticModel({ preset: 'tiny', seed: 31, heads: { classes: 5 } })
const channels = 32
const registers = 4

const npy = (payload: Buffer): { shape: number[], data: Float32Array } => {
  const decoded = decodeNpy(payload)
  return { shape: decoded.shape, data: decoded.data as Float32Array }
}

t.test('a tile larger than the image gives the untiled answer', async (t) => {
  const app = await startApp(t, model)
  const png = await patternPng(200, 130)
  for (const endpoint of ['/features', '/depth']) {
    const whole = npy((await app.inject({ method: 'POST', url: endpoint, headers: imageHeaders(), payload: png })).rawPayload)
    const tiled = npy((await app.inject({ method: 'POST', url: `${endpoint}?tile=512`, headers: imageHeaders(), payload: png })).rawPayload)
    t.same(tiled.shape, whole.shape, `${endpoint} shape`)
    t.equal(maxAbsDiff(tiled.data, whole.data), 0, `${endpoint} values`)
  }
  const segmentWhole = await app.inject({ method: 'POST', url: '/segment', headers: imageHeaders(), payload: png })
  const segmentTiled = await app.inject({ method: 'POST', url: '/segment?tile=512&overlap=64', headers: imageHeaders(), payload: png })
  t.ok(segmentTiled.rawPayload.equals(segmentWhole.rawPayload), '/segment: the same label PNG')
})

t.test('masks and depth maps come back at the input\'s exact size when tiled', async (t) => {
  const app = await startApp(t, model)
  const png = await patternPng(203, 131)
  const depth = npy((await app.inject({ method: 'POST', url: '/depth?tile=64&overlap=16', headers: imageHeaders(), payload: png })).rawPayload)
  t.same(depth.shape, [131, 203])
  const mask = await sharp((await app.inject({ method: 'POST', url: '/segment?tile=96', headers: imageHeaders(), payload: png })).rawPayload).metadata()
  t.same([mask.width, mask.height, mask.channels], [203, 131, 1])
  const features = await app.inject({ method: 'POST', url: '/features?tile=64', headers: imageHeaders(), payload: png })
  t.same(npy(features.rawPayload).shape, [channels, 9, 13], 'the patch grid of the padded image')
  t.equal(features.headers['x-patch-grid'], '9x13')
})

t.test('inside the part of the image only one window covers, the output is that window run alone', async (t) => {
  const app = await startApp(t, model)
  const size = 400
  const rgb = patternRgb(size, size, 4)
  const png = await sharp(rgb, rawInput(size, size)).png().toBuffer()
  // tile 192, overlap 32: windows start at 0, 160, 208 on each axis; the first covers x, y < 160 alone.
  const query = '?tile=192&overlap=32'
  const window = Buffer.alloc(192 * 192 * 3)
  for (let y = 0; y < 192; y++) rgb.copy(window, y * 192 * 3, y * size * 3, (y * size + 192) * 3)
  const alone = await runBackbone(model, normaliseByHand(window, 192, 192, model), 1, 192, 192)

  const features = npy((await app.inject({ method: 'POST', url: `/features${query}`, headers: imageHeaders(), payload: png })).rawPayload)
  t.same(features.shape, [channels, 25, 25])
  let worst = 0
  for (let row = 0; row < 10; row++) {
    for (let col = 0; col < 10; col++) {
      for (let c = 0; c < channels; c++) {
        const expected = alone.hidden[(1 + registers + row * 12 + col) * channels + c]
        worst = Math.max(worst, Math.abs(features.data[c * 625 + row * 25 + col] - expected))
      }
    }
  }
  t.ok(worst < 1e-5, `features: max |diff| ${worst}`)

  const depthAlone = await runHeadOnTokens(model, 'depth', alone, registers, 12, 12)
  const depth = npy((await app.inject({ method: 'POST', url: `/depth${query}`, headers: imageHeaders(), payload: png })).rawPayload)
  worst = 0
  for (let y = 0; y < 152; y++) {
    for (let x = 0; x < 152; x++) {
      const expected = bilinearAt(depthAlone.data, 12, 12, 1 / 16, 1 / 16, x, y)
      worst = Math.max(worst, Math.abs(depth.data[y * size + x] - expected))
    }
  }
  t.ok(worst < 1e-4, `depth head: max |diff| ${worst}`)
})

/** Mean |d(x+1) − d(x)| over rows, for each column step x. */
function columnJumps (depth: Float32Array, width: number, height: number): number[] {
  return Array.from({ length: width - 1 }, (_, x) => {
    let sum = 0
    for (let y = 0; y < height; y++) sum += Math.abs(depth[y * width + x + 1] - depth[y * width + x])
    return sum / height
  })
}

t.test('no seam: on uniform content the blended depth has no step where windows meet', async (t) => {
  const app = await startApp(t, model)
  const [width, height] = [512, 128]
  const uniform = await sharp({ create: { width, height, channels: 3, background: { r: 120, g: 140, b: 90 } } }).png().toBuffer()
  const jumpsWith = async (query: string): Promise<number[]> => {
    const depth = npy((await app.inject({ method: 'POST', url: `/depth${query}`, headers: imageHeaders(), payload: uniform })).rawPayload)
    return columnJumps(depth.data, width, height)
  }
  // Windows of 256 at x = 0 and 256: their border is at x = 256.
  const border = (jumps: number[]): number => Math.max(...jumps.slice(240, 272))
  const elsewhere = (jumps: number[]): number => Math.max(...jumps.slice(16, 224), ...jumps.slice(288, 496))

  const blended = await jumpsWith('?tile=256&overlap=128')
  const hardCut = await jumpsWith('?tile=256&overlap=0')
  t.comment(`largest jump near the border / elsewhere: blended ${(border(blended) / elsewhere(blended)).toFixed(2)}, without overlap ${(border(hardCut) / elsewhere(hardCut)).toFixed(2)}`)
  t.ok(border(hardCut) > 2 * elsewhere(hardCut), 'the measure sees the seam of windows that do not overlap')
  t.ok(border(blended) <= 1.25 * elsewhere(blended), 'blended: the border is no rougher than the rest of the map')
})

t.test('tile and overlap out of range are 400s that say the valid range', async (t) => {
  const app = await startApp(t, model)
  const png = await patternPng(100, 100)
  const cases: Array<[string, RegExp]> = [
    ['/segment?tile=8', /tile=8 is out of range: use 16 to 1024 pixels/],
    ['/segment?tile=2048', /tile=2048 is out of range: use 16 to 1024 pixels/],
    ['/depth?tile=128&overlap=128', /overlap=128 is out of range for tile=128: use 0 to 112 pixels/],
    ['/depth?tile=128&overlap=500', /use 0 to 112 pixels/],
    ['/features?overlap=32', /overlap only applies with tile/],
    ['/features?tile=128&size=256', /tile runs at native resolution/],
    ['/features?tile=abc', /tile must be integer/]
  ]
  for (const [url, message] of cases) {
    const response = await app.inject({ method: 'POST', url, headers: imageHeaders(), payload: png })
    t.equal(response.statusCode, 400, url)
    t.match(response.json().message, message, url)
  }
})
