import t from 'tap'
import { percentileOfHistogram, percentileOfSorted } from '../../../src/image/geotiff/percentile.js'

/** numpy.percentile's default (linear), written out: 0..n-1 ranks, interpolated. */
const numpyLinear = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const h = (sorted.length - 1) * p / 100
  return sorted[Math.floor(h)] + (h - Math.floor(h)) * ((sorted[Math.ceil(h)] ?? sorted[Math.floor(h)]) - sorted[Math.floor(h)])
}

t.test('numpy.percentile values: known answers', async (t) => {
  // np.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) = [1, 1.75, 2.5, 3.7, 4]
  const expected = [1, 1.75, 2.5, 3.7, 4]
  ;[0, 25, 50, 90, 100].forEach((p, i) => t.ok(Math.abs(percentileOfSorted([1, 2, 3, 4], p) - expected[i]) < 1e-12, `p${p}`))
  t.equal(percentileOfSorted([7], 98), 7)
  t.ok(Number.isNaN(percentileOfSorted([], 50)))
})

t.test('the histogram gives the sorted values\' percentiles exactly, signed offsets included', async (t) => {
  let seed = 12345
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (const [offset, range, n] of [[0, 65536, 5000], [-32768, 65536, 3001], [0, 256, 17]] as const) {
    const values = Array.from({ length: n }, () => offset + Math.floor(random() * random() * range))
    const histogram = new Float64Array(range)
    for (const v of values) histogram[v - offset] += 1
    const sorted = Float64Array.from(values).sort()
    for (const p of [0, 2, 13.7, 50, 98, 100]) {
      const expected = numpyLinear(values, p)
      t.ok(Math.abs(percentileOfHistogram(histogram, offset, p) - expected) < 1e-9, `histogram p${p} of ${n} values from ${offset}`)
      t.ok(Math.abs(percentileOfSorted(sorted, p) - expected) < 1e-9, `sorted p${p}`)
    }
  }
})
