import t from 'tap'
import { lossGrid } from '../../src/fitting/loss-grid.js'
import { resampleBilinear, samplingFor } from '../../src/inference/resample.js'
import { SeededRandom } from '../../src/synthetic/random.js'

t.test('the loss grid interpolates the patch grid exactly as /segment and /depth resample it, at a subset of pixels', async (t) => {
  const random = new SeededRandom(9)
  // A 300×170 image scaled to 150×85, padded to 160×96 (patch 16): a 6×10 grid, not square, with padding to crop.
  const geometry = { original: { width: 300, height: 170 }, content: { width: 150, height: 85 }, padded: { width: 160, height: 96 } }
  const [h, w] = [6, 10]
  const map = random.normalArray(h * w, 1)
  const grid = lossGrid(geometry, h, w)
  t.equal(grid.rowPixels.length, 24, '4 loss points per patch row')
  t.equal(grid.columnPixels.length, 40)
  const served = resampleBilinear({ data: map, planes: 1, width: w, height: h }, samplingFor(geometry, w, h), 300, 170)
  let worst = 0
  grid.rowPixels.forEach((row, i) => {
    grid.columnPixels.forEach((column, j) => {
      let value = 0
      for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) value += grid.rows[i * h + a] * map[a * w + b] * grid.columns[b * grid.columnPixels.length + j]
      worst = Math.max(worst, Math.abs(value - served[row * 300 + column]))
    })
  })
  t.ok(worst < 1e-5, `rows · map · columns = the served resampling at those pixels (worst ${worst})`)
  const small = lossGrid({ original: { width: 20, height: 12 }, content: { width: 20, height: 12 }, padded: { width: 32, height: 16 } }, 1, 2)
  t.same([small.rowPixels.length, small.columnPixels.length], [4, 8], 'at most 4 points per patch (and never more than the pixels)')
})
