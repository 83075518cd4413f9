import t from 'tap'
import { blendProfile, blendWindow, finishCanvas, newCanvas } from '../../src/inference/dense/blend.js'
import { planWindows } from '../../src/inference/dense/window-plan.js'

t.test('windows cover the whole canvas, on the patch grid, the last shifted inside', async (t) => {
  const plan = planWindows({ width: 1000, height: 300 }, { tile: 256, overlap: 64 }, 16, 1024)
  t.same(plan.canvas, { width: 1008, height: 304 })
  t.same(plan.window, { width: 256, height: 256 })
  const xs = [...new Set(plan.origins.map((o) => o.x))]
  const ys = [...new Set(plan.origins.map((o) => o.y))]
  t.same(xs, [0, 192, 384, 576, 752], 'step 192; the last ends exactly at the canvas edge')
  t.same(ys, [0, 48])
  t.equal(plan.origins.length, xs.length * ys.length)
  for (const { x, y } of plan.origins) {
    t.ok(x % 16 === 0 && y % 16 === 0 && x + 256 <= 1008 && y + 256 <= 304, `window at ${x},${y} inside, on the grid`)
  }
  const covered = new Uint8Array(1008)
  for (const x of xs) covered.fill(1, x, x + 256)
  t.ok(covered.every((v) => v === 1), 'no column left out')
})

t.test('small images get one window of their own size; tiles and overlaps round onto the grid', async (t) => {
  const one = planWindows({ width: 100, height: 70 }, { tile: 512, overlap: 128 }, 16, 1024)
  t.same(one.origins, [{ x: 0, y: 0 }])
  t.same(one.window, { width: 112, height: 80 })
  const rounded = planWindows({ width: 500, height: 500 }, { tile: 250, overlap: 20 }, 14, 1024)
  t.same(rounded.window, { width: 238, height: 238 }, '250 rounds down to 17 patches of 14')
  t.equal(rounded.overlap, 28, 'overlap rounds up to whole patches')
  t.throws(() => planWindows({ width: 10, height: 10 }, { tile: 8, overlap: 0 }, 16, 1024), { message: /use 16 to 1024/ })
  t.throws(() => planWindows({ width: 10, height: 10 }, { tile: 64, overlap: 64 }, 16, 1024), { message: /use 0 to 48 pixels/ })
})

t.test('blend profiles ramp as a smoothstep over the overlap and cross-fade to exactly 1', async (t) => {
  t.same(Array.from(blendProfile(6, 0, true, true)), [1, 1, 1, 1, 1, 1], 'no overlap: flat')
  // 3t² − 2t³ at the cell centres t = 1/8, 3/8, 5/8, 7/8 (exact in float32).
  t.same(Array.from(blendProfile(8, 4, true, false)), [0.04296875, 0.31640625, 0.68359375, 0.95703125, 1, 1, 1, 1])
  t.same(Array.from(blendProfile(8, 4, false, true)), [1, 1, 1, 1, 0.95703125, 0.68359375, 0.31640625, 0.04296875])
  const left = blendProfile(8, 4, false, true)
  const right = blendProfile(8, 4, true, false)
  for (let i = 0; i < 4; i++) t.equal(left[4 + i] + right[i], 1, `overlap cell ${i}`)
})

t.test('the accumulator returns the weighted mean per cell at map resolution', async (t) => {
  const plan = planWindows({ width: 96, height: 32 }, { tile: 64, overlap: 32 }, 16, 1024)
  t.same(plan.origins.map((o) => o.x), [0, 32])
  const map = (value: number) => ({ data: new Float32Array(2 * 4 * 2).fill(value), planes: 2, width: 4, height: 2 })
  const canvas = newCanvas(plan, map(10))
  blendWindow(canvas, plan, map(10), plan.origins[0])
  blendWindow(canvas, plan, map(20), plan.origins[1])
  const blended = finishCanvas(canvas)
  t.same([blended.planes, blended.width, blended.height], [2, 6, 2])
  // Cells 2 and 3 are shared: weights smoothstep(3/4) = 0.84375 and smoothstep(1/4) = 0.15625, then the reverse.
  t.same(Array.from(blended.data.subarray(0, 6)), [10, 10, 11.5625, 18.4375, 20, 20])
  t.same(Array.from(blended.data.subarray(12, 18)), [10, 10, 11.5625, 18.4375, 20, 20], 'every plane')
})
