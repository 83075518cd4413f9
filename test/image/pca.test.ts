import t from 'tap'
import { jacobiEigen, pcaToRgb, principalComponents } from '../../src/image/pca.js'

function seededGaussian (seed: number): () => number {
  let s = seed >>> 0
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s + 0.5) / 2 ** 32
  }
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

/** Three random orthonormal directions in C dimensions. */
function orthonormalDirections (channels: number, gaussian: () => number): Float64Array[] {
  const directions: Float64Array[] = []
  for (let d = 0; d < 3; d++) {
    const v = Float64Array.from({ length: channels }, gaussian)
    for (const u of directions) {
      const p = u.reduce((acc, x, c) => acc + x * v[c], 0)
      for (let c = 0; c < channels; c++) v[c] -= p * u[c]
    }
    const norm = Math.hypot(...v)
    for (let c = 0; c < channels; c++) v[c] /= norm
    directions.push(v)
  }
  return directions
}

/** Channel-major [C, N] samples: offset + Σ z_j·d_j with sd(z) = 8, 4, 2, plus noise of sd 0.1. */
function syntheticFeatures (channels: number, count: number, seed = 1) {
  const gaussian = seededGaussian(seed)
  const directions = orthonormalDirections(channels, gaussian)
  const spreads = [8, 4, 2]
  const features = new Float32Array(channels * count)
  for (let i = 0; i < count; i++) {
    const z = spreads.map((sd) => sd * gaussian())
    for (let c = 0; c < channels; c++) {
      features[c * count + i] = 5 + c * 0.01 + z[0] * directions[0][c] + z[1] * directions[1][c] + z[2] * directions[2][c] + 0.1 * gaussian()
    }
  }
  return { features, directions, variances: spreads.map((sd) => sd * sd) }
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return dot / Math.sqrt(na * nb)
}

t.test('jacobiEigen solves a small symmetric matrix', async (t) => {
  // [[2,1,0],[1,2,0],[0,0,5]] has eigenvalues 5, 3, 1.
  const { values, vectors } = jacobiEigen(Float64Array.of(2, 1, 0, 1, 2, 0, 0, 0, 5), 3)
  t.same(Array.from(values, (v) => +v.toFixed(12)), [5, 3, 1])
  const column = (j: number) => [vectors[j], vectors[3 + j], vectors[6 + j]]
  t.ok(Math.abs(cosine(column(0), [0, 0, 1])) > 0.999999)
  t.ok(Math.abs(cosine(column(1), [1, 1, 0])) > 0.999999)
  t.ok(Math.abs(cosine(column(2), [1, -1, 0])) > 0.999999)
})

t.test('recovers three known directions with decreasing eigenvalues', async (t) => {
  const channels = 96
  const count = 4000
  const { features, directions, variances } = syntheticFeatures(channels, count)
  const pcs = principalComponents(features, channels, count, 3)
  t.equal(pcs.components.length, 3 * channels)
  t.equal(pcs.samples, count)
  for (let j = 0; j < 3; j++) {
    const component = pcs.components.subarray(j * channels, (j + 1) * channels)
    const c = Math.abs(cosine(component, directions[j]))
    t.ok(c > 0.99, `component ${j}: |cos| = ${c.toFixed(5)}`)
    t.ok(Math.abs(Math.hypot(...component) - 1) < 1e-9, `component ${j} is a unit vector`)
    const ratio = pcs.eigenvalues[j] / variances[j]
    t.ok(ratio > 0.85 && ratio < 1.15, `eigenvalue ${j}: ${pcs.eigenvalues[j].toFixed(2)} vs variance ${variances[j]}`)
  }
  t.ok(pcs.eigenvalues[0] > pcs.eigenvalues[1] && pcs.eigenvalues[1] > pcs.eigenvalues[2], 'decreasing')
  t.ok(Math.abs(cosine(pcs.components.subarray(0, channels), pcs.components.subarray(channels, 2 * channels))) < 1e-9, 'orthogonal')
  t.ok(Math.abs(pcs.mean[10] - (5 + 10 * 0.01)) < 0.5, 'mean')
})

t.test('matches a dense eigen-decomposition of the explicit float64 covariance', async (t) => {
  // A slowly decaying spectrum (no clean gap) in a random basis: the hard case for Lanczos.
  const channels = 32
  const count = 3000
  const gaussian = seededGaussian(5)
  const mixing = Float64Array.from({ length: channels * channels }, gaussian)
  const features = new Float32Array(channels * count)
  for (let i = 0; i < count; i++) {
    const z = Array.from({ length: channels }, (_, k) => gaussian() / Math.sqrt(k + 1))
    for (let c = 0; c < channels; c++) {
      let v = 0
      for (let k = 0; k < channels; k++) v += mixing[c * channels + k] * z[k]
      features[c * count + i] = v + 1
    }
  }
  const covariance = new Float64Array(channels * channels)
  const mean = Array.from({ length: channels }, (_, c) => features.subarray(c * count, (c + 1) * count).reduce((a, b) => a + b, 0) / count)
  for (let a = 0; a < channels; a++) {
    for (let b = 0; b < channels; b++) {
      let sum = 0
      for (let i = 0; i < count; i++) sum += (features[a * count + i] - mean[a]) * (features[b * count + i] - mean[b])
      covariance[a * channels + b] = sum / (count - 1)
    }
  }
  const dense = jacobiEigen(covariance, channels)
  const pcs = principalComponents(features, channels, count, 3)
  for (let j = 0; j < 3; j++) {
    const relative = Math.abs(pcs.eigenvalues[j] - dense.values[j]) / dense.values[j]
    t.ok(relative < 1e-8, `eigenvalue ${j}: ${pcs.eigenvalues[j]} vs ${dense.values[j]}`)
    const reference = Array.from({ length: channels }, (_, c) => dense.vectors[c * channels + j])
    const c = Math.abs(cosine(pcs.components.subarray(j * channels, (j + 1) * channels), reference))
    t.ok(c > 0.999999, `component ${j}: |cos| = ${c}`)
  }
})

t.test('the largest-magnitude loading of each component is positive', async (t) => {
  const channels = 40
  const { features } = syntheticFeatures(channels, 1500, 3)
  const pcs = principalComponents(features, channels, 1500, 3)
  for (let j = 0; j < 3; j++) {
    const component = Array.from(pcs.components.subarray(j * channels, (j + 1) * channels))
    const largest = component.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0)
    t.ok(largest > 0, `component ${j}`)
  }
})

t.test('subsampled fit (maxSamples < N) still finds the directions', async (t) => {
  const channels = 64
  const count = 20000
  const { features, directions } = syntheticFeatures(channels, count, 7)
  const pcs = principalComponents(features, channels, count, 3, { maxSamples: 2000 })
  t.equal(pcs.samples, 2000)
  for (let j = 0; j < 3; j++) {
    const c = Math.abs(cosine(pcs.components.subarray(j * channels, (j + 1) * channels), directions[j]))
    t.ok(c > 0.99, `component ${j}: |cos| = ${c.toFixed(5)}`)
  }
})

t.test('rank-deficient and tiny inputs do not produce NaN', async (t) => {
  // Every sample on one line: one real component, the rest have eigenvalue 0.
  const channels = 5
  const count = 50
  const features = new Float32Array(channels * count)
  for (let i = 0; i < count; i++) for (let c = 0; c < channels; c++) features[c * count + i] = (c + 1) * (i - 25)
  const pcs = principalComponents(features, channels, count, 3)
  t.ok(pcs.components.every(Number.isFinite) && pcs.eigenvalues.every(Number.isFinite))
  t.ok(Math.abs(cosine(pcs.components.subarray(0, channels), [1, 2, 3, 4, 5])) > 0.999999)
  t.ok(pcs.eigenvalues[1] < 1e-6 * pcs.eigenvalues[0])
  const rgb = pcaToRgb(features, channels, count)
  t.equal(rgb.length, count * 3)
  // Constant data: no spread anywhere, everything mid-grey.
  t.same(Array.from(pcaToRgb(new Float32Array(4 * 10).fill(3), 4, 10)), new Array(30).fill(128))
  // One sample.
  t.equal(pcaToRgb(Float32Array.of(1, 2, 3, 4), 4, 1).length, 3)
})

t.test('fewer than three channels leaves the missing colour channels at 128', async (t) => {
  const count = 100
  const features = Float32Array.from({ length: 2 * count }, (_, i) => Math.sin(i * 0.37) * (i < count ? 3 : 1))
  const rgb = pcaToRgb(features, 2, count)
  t.ok(Array.from({ length: count }, (_, i) => rgb[i * 3 + 2]).every((v) => v === 128))
  t.ok(new Set(Array.from({ length: count }, (_, i) => rgb[i * 3])).size > 10, 'red varies')
})

t.test('pcaToRgb: shape, full range, robust clipping, determinism', async (t) => {
  const channels = 48
  const count = 64 * 64
  const { features, directions } = syntheticFeatures(channels, count, 11)
  const rgb = pcaToRgb(features, channels, count)
  t.equal(rgb.length, count * 3)
  for (let j = 0; j < 3; j++) {
    const channel = Array.from({ length: count }, (_, i) => rgb[i * 3 + j])
    const zeros = channel.filter((v) => v === 0).length
    const full = channel.filter((v) => v === 255).length
    // 1st/99th percentile bounds: about 1% of samples saturate at each end.
    t.ok(zeros >= count * 0.005 && zeros <= count * 0.02, `channel ${j}: ${zeros} at 0`)
    t.ok(full >= count * 0.005 && full <= count * 0.02, `channel ${j}: ${full} at 255`)
  }
  t.same(pcaToRgb(features, channels, count), rgb, 'same input, same bytes')

  // Red rises with the projection on the first true direction (the sign pinned by the largest loading).
  const pcs = principalComponents(features, channels, count, 1)
  const sign = Math.sign(cosine(pcs.components, directions[0]))
  let agree = 0
  for (let i = 0; i < count; i++) {
    let projection = 0
    for (let c = 0; c < channels; c++) projection += directions[0][c] * (features[c * count + i] - pcs.mean[c])
    if ((sign * projection > 0) === (rgb[i * 3] >= 128)) agree++
  }
  t.ok(agree > count * 0.97, `red tracks PC1 for ${agree}/${count} samples`)
})

t.test('layout errors are refused', async (t) => {
  t.throws(() => pcaToRgb(new Float32Array(10), 3, 4), RangeError)
  t.throws(() => principalComponents(new Float32Array(12), 3, 4, 4), RangeError)
  t.throws(() => principalComponents(new Float32Array(12), 3, 4, 0), RangeError)
})
