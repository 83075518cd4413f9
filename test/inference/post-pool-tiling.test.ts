import t from 'tap'
import { blendWindow, finishCanvas, newCanvas } from '../../src/inference/dense/blend.js'
import { MapAccumulator } from '../../src/inference/dense/map-accumulator.js'
import { planWindows } from '../../src/inference/dense/window-plan.js'
import { ServiceError } from '../../src/errors.js'
import { PostPool } from '../../src/inference/post-pool/pool.js'
import type { PlanarMap } from '../../src/inference/resample.js'
import { patchGrid } from '../../src/inference/tokens.js'

const pool = new PostPool(2)
t.teardown(async () => pool.close())

/** Deterministic values that are not round in float32, so that any reordering of the sums would show. */
const noise = (length: number, seed: number): Float32Array => Float32Array.from({ length }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 43.7)

t.test('blending on the pool gives, bit for bit, the windows blended one after the other here', async (t) => {
  // 37 windows on a 7×5-cell-per-window head map (scale 1/8), in batches of 4 whose maps are views of one buffer,
  // as a head's output for a batch of windows is.
  const plan = planWindows({ width: 517, height: 389 }, { tile: 128, overlap: 48 }, 16, 1024)
  t.ok(plan.origins.length > 20, `${plan.origins.length} windows`)
  const planes = 3
  const cells = 16 * 16
  const windowMap = (i: number): Float32Array => noise(planes * cells, i)

  let here: ReturnType<typeof newCanvas> | undefined
  plan.origins.forEach((origin, i) => {
    const map = { data: windowMap(i), planes, width: 16, height: 16 }
    here ??= newCanvas(plan, map)
    blendWindow(here, plan, map, origin)
  })
  const expected = finishCanvas(here as ReturnType<typeof newCanvas>)

  const accumulator = new MapAccumulator(plan, pool)
  const given: Float32Array[] = []
  for (let start = 0; start < plan.origins.length; start += 4) {
    const origins = plan.origins.slice(start, start + 4)
    const output = new Float32Array(origins.length * planes * cells)
    origins.forEach((_, w) => output.set(windowMap(start + w), w * planes * cells))
    const maps: PlanarMap[] = origins.map((_, w) => ({ data: output.subarray(w * planes * cells, (w + 1) * planes * cells), planes, width: 16, height: 16 }))
    given.push(output)
    await accumulator.add(maps, origins)
  }
  const blended = await accumulator.finish()
  t.same([blended.planes, blended.width, blended.height], [expected.planes, expected.width, expected.height])
  t.ok(Buffer.from(blended.data.buffer, blended.data.byteOffset, blended.data.byteLength)
    .equals(Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength)), 'the same bits')
  t.ok(given.every((output) => output.byteLength === 0), 'each batch\'s output moved to the pool whole (no copy)')
})

t.test('a map that does not scale with its window is a 400 before anything moves', async (t) => {
  const plan = planWindows({ width: 200, height: 100 }, { tile: 64, overlap: 16 }, 16, 1024)
  const accumulator = new MapAccumulator(plan, pool)
  await accumulator.add([{ data: noise(2 * 16, 1), planes: 2, width: 4, height: 4 }], [plan.origins[0]])
  const odd = { data: noise(2 * 15, 2), planes: 2, width: 5, height: 3 }
  await t.rejects(accumulator.add([odd], [plan.origins[1]]), new ServiceError('bad_request', 'this head\'s output does not scale with its input, which tiling needs; call it without tile'))
  t.equal(odd.data.byteLength, 2 * 15 * 4, 'the refused map stays here')
  const other = { data: noise(3 * 16, 3), planes: 3, width: 4, height: 4 }
  await t.rejects(accumulator.add([other], [plan.origins[1]]), /does not scale/, 'another plane count too')
})

t.test('windows are normalised on the pool as by hand, 0 past the image, read from a strip in shared memory', async (t) => {
  const [width, height] = [45, 23]
  const data = Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256))
  const table = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - 0.4 - c * 0.05) / (0.2 + c * 0.01)))
  const window = { width: 16, height: 16 }
  const origins = [{ x: 0, y: 0 }, { x: 20, y: 3 }, { x: 32, y: 16 }, { x: 40, y: 20 }]
  const strip = new Uint8Array(new SharedArrayBuffer(data.length))
  strip.set(data)
  const tensors = await pool.run('normalise', { image: { data: strip, width, height }, table: table.map((lut) => lut.slice()), padded: window, origins })
  t.equal(tensors.length, origins.length)
  origins.forEach((origin, i) => {
    const expected = new Float32Array(3 * 16 * 16)
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const [ix, iy] = [origin.x + x, origin.y + y]
          expected[c * 256 + y * 16 + x] = ix < width && iy < height ? table[c][data[(iy * width + ix) * 3 + c]] : 0
        }
      }
    }
    t.same(Array.from(tensors[i]), Array.from(expected), `window at ${origin.x},${origin.y}`)
  })
  t.ok(Buffer.from(strip).equals(data), 'the strip stays here, unchanged, for the next batch')
})

t.test('JSON numbers from the pool are what JSON.stringify writes, NaN and infinities as null', async (t) => {
  const values = Float32Array.from([0, -0, 1, -1.5, 0.1, 1e-45, 3.4028234663852886e38, NaN, Infinity, -Infinity, 1 / 3, -2.5e-7, 123456789])
  const bytes = await pool.run('jsonNumbers', { before: '{"a":', values: values.slice(), after: '}' })
  t.equal(Buffer.from(bytes).toString('utf8'), `{"a":${JSON.stringify(Array.from(values))}}`)
  t.equal(Buffer.from(bytes).toString('utf8'), '{"a":[0,0,1,-1.5,0.10000000149011612,1.401298464324817e-45,3.4028234663852886e+38,null,null,null,0.3333333432674408,-2.499999993688107e-7,123456792]}')
  const many = noise(100_000, 9)
  t.equal(Buffer.from(await pool.run('jsonNumbers', { before: '', values: many.slice(), after: '' })).toString(), JSON.stringify(Array.from(many)))
})

t.test('a job that cannot be sent fails alone; the thread goes on', async (t) => {
  // One thread: were it left waiting for an answer to a message it never got, the jobs after would wait forever.
  const single = new PostPool(1)
  t.teardown(async () => single.close())
  // postMessage refuses a shared buffer in a transfer list (and a function anywhere in a message).
  const shared = new SharedArrayBuffer(8) as unknown as ArrayBuffer
  await t.rejects(single.run('jsonNumbers', { before: '', values: new Float32Array(2), after: '' }, [shared]), /invalid object in transferList/)
  for (let i = 0; i < 3; i++) {
    t.equal(Buffer.from(await single.run('jsonNumbers', { before: '', values: Float32Array.of(i), after: '' })).toString(), `[${i}]`, `job ${i} after it`)
  }
})

t.test('the features target blends each window\'s patch grid, made from its tokens on the pool, bit for bit', async (t) => {
  const plan = planWindows({ width: 300, height: 200 }, { tile: 96, overlap: 32 }, 16, 1024)
  const [channels, registers, grid] = [5, 4, { height: 6, width: 6 }]
  const tokenCount = 1 + registers + grid.height * grid.width
  // One batch's output holds every window's tokens; each window's are a view of it, as the batcher gives them.
  const batch = noise(plan.origins.length * tokenCount * channels, 11)
  const outputs = plan.origins.map((_, i) => ({ tokens: batch.subarray(i * tokenCount * channels, (i + 1) * tokenCount * channels), tokenCount, channels, queueMs: 0, inferenceMs: 0, startedAt: 0, batchSize: 1 }))

  let here: ReturnType<typeof newCanvas> | undefined
  plan.origins.forEach((origin, i) => {
    const map = { data: patchGrid(outputs[i], registers, grid.height, grid.width), planes: channels, ...grid }
    here ??= newCanvas(plan, map)
    blendWindow(here, plan, map, origin)
  })
  const expected = finishCanvas(here as ReturnType<typeof newCanvas>).data

  const accumulator = new MapAccumulator(plan, pool)
  for (let start = 0; start < plan.origins.length; start += 3) {
    await accumulator.addTokens(outputs.slice(start, start + 3), registers, grid, plan.origins.slice(start, start + 3))
  }
  const blended = (await accumulator.finish()).data
  t.same(blended.length, expected.length)
  t.ok(blended.every((value, i) => Object.is(value, expected[i])), 'the same bits')
  t.equal(batch.byteLength, plan.origins.length * tokenCount * channels * 4, 'the batch\'s output stays here (its tokens are copied out)')
})
