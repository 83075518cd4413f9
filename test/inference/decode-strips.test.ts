import t from 'tap'
import { planStrips } from '../../src/inference/dense/decode-strips.js'

t.test('rows of windows that fit the pixel budget share one strip: the picture is decoded once', async (t) => {
  const strips = planStrips([0, 48, 96, 112], 64, { width: 64, height: 176 }, 64 * 176)
  t.same(strips, [{ top: 0, height: 176, rows: [0, 48, 96, 112] }])
})

t.test('a strip grows until the next row of windows would pass the budget, and each covers its rows\' windows', async (t) => {
  const tops = [0, 48, 96, 144, 192]
  const strips = planStrips(tops, 64, { width: 10, height: 256 }, 10 * 160)
  t.same(strips, [
    { top: 0, height: 160, rows: [0, 48, 96] },
    { top: 144, height: 112, rows: [144, 192] }
  ])
  for (const strip of strips) {
    for (const top of strip.rows) t.ok(top >= strip.top && top + 64 <= strip.top + strip.height, `window row ${top} lies inside`)
  }
  t.same(strips.flatMap((s) => s.rows), tops, 'every row of windows once, in order')
})

t.test('a row of windows larger than the budget still gets a strip of its own, cut at the image\'s bottom', async (t) => {
  t.same(planStrips([0, 32], 64, { width: 1000, height: 80 }, 100), [
    { top: 0, height: 64, rows: [0] },
    { top: 32, height: 48, rows: [32] }
  ])
})
