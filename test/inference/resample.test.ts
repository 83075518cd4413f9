import t from 'tap'
import type { InputGeometry } from '../../src/inference/geometry.js'
import { type MapSampling, type PlanarMap, resampleArgmax, resampleBilinear, samplingFor } from '../../src/inference/resample.js'

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function randomMap (planes: number, width: number, height: number, seed: number): PlanarMap {
  const next = random(seed)
  return { data: Float32Array.from({ length: planes * width * height }, () => next() * 20 - 10), planes, width, height }
}

/**
 * PyTorch's F.interpolate(mode='bilinear', align_corners=False), one output pixel at a time, in float64:
 * src = (dst + 0.5) · scale − 0.5, negative sources clamped to 0, the upper neighbour clamped to the edge.
 * `scale` is input cells per output pixel (in / out for a plain resize).
 */
function sourceCoordinate (dst: number, scale: number, length: number): { low: number, high: number, weight: number } {
  const source = Math.max((dst + 0.5) * scale - 0.5, 0)
  const low = Math.floor(source)
  return { low, high: Math.min(low + 1, length - 1), weight: source - low }
}

function naiveValue (map: PlanarMap, plane: number, x: number, y: number, scaleX: number, scaleY: number): number {
  const cx = sourceCoordinate(x, scaleX, map.width)
  const cy = sourceCoordinate(y, scaleY, map.height)
  const at = (xx: number, yy: number): number => map.data[plane * map.width * map.height + yy * map.width + xx]
  const top = (1 - cx.weight) * at(cx.low, cy.low) + cx.weight * at(cx.high, cy.low)
  const bottom = (1 - cx.weight) * at(cx.low, cy.high) + cx.weight * at(cx.high, cy.high)
  return (1 - cy.weight) * top + cy.weight * bottom
}

function naiveBilinear (map: PlanarMap, sampling: MapSampling, outWidth: number, outHeight: number): Float64Array {
  const out = new Float64Array(map.planes * outWidth * outHeight)
  for (let k = 0; k < map.planes; k++) {
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        out[(k * outHeight + y) * outWidth + x] = naiveValue(map, k, x, y, sampling.stepX, sampling.stepY)
      }
    }
  }
  return out
}

function maxAbsDiff (a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

/** For each pixel: the naive argmax, and how far the best logit is ahead of the second (0 for a tie). */
function naiveArgmax (map: PlanarMap, sampling: MapSampling, outWidth: number, outHeight: number): { labels: number[], margins: number[] } {
  const values = naiveBilinear(map, sampling, outWidth, outHeight)
  const pixels = outWidth * outHeight
  const labels: number[] = []
  const margins: number[] = []
  for (let p = 0; p < pixels; p++) {
    let best = -Infinity
    let second = -Infinity
    let label = 0
    for (let k = 0; k < map.planes; k++) {
      const v = values[k * pixels + p]
      if (v > best) {
        second = best
        best = v
        label = k
      } else if (v > second) second = v
    }
    labels.push(label)
    margins.push(best - second)
  }
  return { labels, margins }
}

/** Plain in/out resizes, as F.interpolate(size=(outHeight, outWidth)) does them. */
const plainCases = [
  { name: 'upscale ×2.6 / ×3.25', width: 5, height: 4, outWidth: 13, outHeight: 13 },
  { name: 'upscale, non-square', width: 7, height: 3, outWidth: 16, outHeight: 11 },
  { name: 'downscale ÷1.57 / ÷2.2', width: 11, height: 11, outWidth: 7, outHeight: 5 },
  { name: 'up in x, down in y', width: 4, height: 9, outWidth: 10, outHeight: 4 },
  { name: 'one-cell map', width: 1, height: 1, outWidth: 3, outHeight: 2 }
]

t.test('resampleBilinear equals F.interpolate(bilinear, align_corners=False) computed per pixel', async (t) => {
  plainCases.forEach((c, i) => {
    const map = randomMap(3, c.width, c.height, 100 + i)
    const sampling = { stepX: c.width / c.outWidth, stepY: c.height / c.outHeight }
    const got = resampleBilinear(map, sampling, c.outWidth, c.outHeight)
    t.equal(got.length, 3 * c.outWidth * c.outHeight, `${c.name}: [planes, outHeight, outWidth]`)
    const diff = maxAbsDiff(got, naiveBilinear(map, sampling, c.outWidth, c.outHeight))
    t.ok(diff < 1e-5, `${c.name}: max |Δ| = ${diff}`)
  })
})

t.test('a worked example: 2×2 map to 4×4', async (t) => {
  // x sources for 4 outputs at scale 0.5: −0.25→0, 0.25, 0.75, 1.25→ high clamped to 1.
  const map: PlanarMap = { data: Float32Array.from([0, 4, 8, 12]), planes: 1, width: 2, height: 2 }
  const got = resampleBilinear(map, { stepX: 0.5, stepY: 0.5 }, 4, 4)
  t.same(Array.from(got), [
    0, 1, 3, 4,
    2, 3, 5, 6,
    6, 7, 9, 10,
    8, 9, 11, 12
  ])
})

t.test('the sampling of a padded geometry: content scaled from the original, map covering the padded input', async (t) => {
  // A 300×200 photo scaled to 150×100 and padded to 160×112 (patch 16); the patch grid is 10×7.
  const geometry: InputGeometry = { original: { width: 300, height: 200 }, content: { width: 150, height: 100 }, padded: { width: 160, height: 112 } }
  const sampling = samplingFor(geometry, 10, 7)
  t.equal(sampling.stepX, (150 / 300) * (10 / 160))
  t.equal(sampling.stepY, (100 / 200) * (7 / 112))

  // By hand: original pixel x → content coordinate (x + 0.5)·150/300 − 0.5, the same coordinate in padded
  // pixels, → map coordinate (c + 0.5)·10/160 − 0.5: two align_corners=False mappings in a row.
  for (const x of [0, 1, 17, 150, 299]) {
    const content = (x + 0.5) * (150 / 300) - 0.5
    const cell = (content + 0.5) * (10 / 160) - 0.5
    t.ok(Math.abs(((x + 0.5) * sampling.stepX - 0.5) - cell) < 1e-12, `x ${x}`)
  }
  // The last original pixel lands inside the content: the padding cells never reach the output.
  t.ok((300 - 0.5) * sampling.stepX - 0.5 < 150 / 16 - 0.5 + 1e-9)
  t.ok((200 - 0.5) * sampling.stepY - 0.5 < 100 / 16 - 0.5 + 1e-9)

  const map = randomMap(4, 10, 7, 7)
  const got = resampleBilinear(map, sampling, 300, 200)
  const diff = maxAbsDiff(got, naiveBilinear(map, sampling, 300, 200))
  t.ok(diff < 1e-5, `max |Δ| = ${diff}`)
})

t.test('a letterboxed geometry never reads the cells that are wholly padding', async (t) => {
  // 300×200 letterboxed into a fixed 224×224 input: content 224×149, a 14×14 grid of 16-pixel patches.
  const geometry: InputGeometry = { original: { width: 300, height: 200 }, content: { width: 224, height: 149 }, padded: { width: 224, height: 224 } }
  const sampling = samplingFor(geometry, 14, 14)
  t.equal(sampling.stepY, (149 / 200) * (14 / 224))
  const map = randomMap(2, 14, 14, 9)
  const diff = maxAbsDiff(resampleBilinear(map, sampling, 300, 200), naiveBilinear(map, sampling, 300, 200))
  t.ok(diff < 1e-5, `max |Δ| = ${diff}`)

  // Rows from ceil(149 / 16) = 10 on are all padding: poisoned, they must not show in the output.
  const poisoned = { ...map, data: Float32Array.from(map.data) }
  for (let k = 0; k < 2; k++) poisoned.data.fill(1e6, k * 196 + 10 * 14, (k + 1) * 196)
  const out = resampleBilinear(poisoned, sampling, 300, 200)
  t.ok(out.every((v) => Math.abs(v) <= 10), 'no padding row is ever read')
  t.same(Array.from(out), Array.from(resampleBilinear(map, sampling, 300, 200)))
  // Row 9 is part content, so the bottom of the image does read it.
  const touched = { ...map, data: Float32Array.from(map.data) }
  touched.data.fill(1e6, 9 * 14, 10 * 14)
  t.ok(resampleBilinear(touched, sampling, 300, 200)[199 * 300] > 1000)
})

t.test('a geometry that scales up (small original) onto a head output larger than the grid', async (t) => {
  const geometry: InputGeometry = { original: { width: 45, height: 30 }, content: { width: 90, height: 60 }, padded: { width: 98, height: 70 } }
  const sampling = samplingFor(geometry, 49, 35)
  t.equal(sampling.stepX, 2 * (49 / 98))
  t.equal(sampling.stepY, 2 * (35 / 70))
  const map = randomMap(5, 49, 35, 11)
  const diff = maxAbsDiff(resampleBilinear(map, sampling, 45, 30), naiveBilinear(map, sampling, 45, 30))
  t.ok(diff < 1e-5, `max |Δ| = ${diff}`)
})

t.test('identity when the map already has the output size', async (t) => {
  const geometry: InputGeometry = { original: { width: 9, height: 6 }, content: { width: 9, height: 6 }, padded: { width: 9, height: 6 } }
  const sampling = samplingFor(geometry, 9, 6)
  t.same(sampling, { stepX: 1, stepY: 1 })
  const map = randomMap(3, 9, 6, 3)
  t.same(Array.from(resampleBilinear(map, sampling, 9, 6)), Array.from(map.data), 'bit for bit')
  const labels = resampleArgmax(map, sampling, 9, 6)
  t.same(Array.from(labels), naiveArgmax(map, sampling, 9, 6).labels)
})

t.test('resampleArgmax is the argmax of the bilinear logits, never of upsampled labels', async (t) => {
  const cases = [
    ...plainCases.map((c) => ({ ...c, sampling: { stepX: c.width / c.outWidth, stepY: c.height / c.outHeight } })),
    {
      name: 'padded geometry',
      width: 11,
      height: 9,
      outWidth: 50,
      outHeight: 41,
      sampling: samplingFor({ original: { width: 50, height: 41 }, content: { width: 173, height: 142 }, padded: { width: 176, height: 144 } }, 11, 9)
    }
  ]
  cases.forEach((c, i) => {
    const map = randomMap(6, c.width, c.height, 200 + i)
    const labels = resampleArgmax(map, c.sampling, c.outWidth, c.outHeight)
    t.ok(labels instanceof Uint8Array, `${c.name}: 6 classes fit a byte`)
    const expected = naiveArgmax(map, c.sampling, c.outWidth, c.outHeight)
    let mismatches = 0
    let decided = 0
    for (let p = 0; p < labels.length; p++) {
      if (expected.margins[p] < 1e-4) continue // too close for float32 to call
      decided++
      if (labels[p] !== expected.labels[p]) mismatches++
    }
    t.equal(mismatches, 0, `${c.name}: ${decided} of ${labels.length} pixels decided`)
    t.ok(decided > 0.95 * labels.length)
  })
})

t.test('argmax of bilinear logits differs from nearest labels: a worked example', async (t) => {
  // Class 1 is slightly ahead in the left cell only; class 0 far ahead in the right cell.
  // Between the cells the blended logits favour class 0 well before the midpoint.
  const map: PlanarMap = { data: Float32Array.from([0, 10, 1, 0]), planes: 2, width: 2, height: 1 }
  const labels = resampleArgmax(map, { stepX: 0.25, stepY: 1 }, 8, 1)
  // x sources: 0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1; class 0 wins once 10w > 1 − w, i.e. w > 1/11.
  t.same(Array.from(labels), [1, 1, 0, 0, 0, 0, 0, 0])
})

t.test('ties go to the lowest class', async (t) => {
  const map: PlanarMap = { data: new Float32Array(3 * 2 * 2).fill(0.5), planes: 3, width: 2, height: 2 }
  t.same(Array.from(resampleArgmax(map, { stepX: 0.5, stepY: 0.5 }, 4, 4)), new Array(16).fill(0))
})

t.test('more than 256 classes give a Uint16Array with labels above 255', async (t) => {
  const planes = 300
  const map = randomMap(planes, 3, 2, 5)
  // Make classes 299, 260 and 7 the clear winners of three cells.
  const cell = (k: number, x: number, y: number): number => k * 6 + y * 3 + x
  map.data[cell(299, 0, 0)] = 100
  map.data[cell(260, 2, 1)] = 100
  map.data[cell(7, 2, 0)] = 100
  const sampling = { stepX: 3 / 7, stepY: 2 / 5 }
  const labels = resampleArgmax(map, sampling, 7, 5)
  t.ok(labels instanceof Uint16Array)
  const expected = naiveArgmax(map, sampling, 7, 5)
  t.same(Array.from(labels), expected.labels)
  t.equal(labels[0], 299)
  t.equal(labels[4 * 7 + 6], 260)
  t.equal(labels[6], 7)
  t.ok(resampleArgmax(randomMap(256, 2, 2, 1), sampling, 3, 3) instanceof Uint8Array, '256 classes still fit a byte')
})
