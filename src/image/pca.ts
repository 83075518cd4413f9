// Principal components of dense feature maps, and their false-colour RGB rendering.
//
// Features are channel-major [C, N]. The C×C covariance is never formed: building it costs
// C²·N/2 multiply-adds (~2 s for C=1024, N=4096 in plain JS), while Lanczos only needs products
// Cov·q, each computed straight from the samples as X·(Xᵀq) in 2·C·N, and 15-40 of those give
// the top eigenpairs of the covariance (the same ones a float64 C×C matrix would give).
// All accumulation is float64. Above DEFAULT_MAX_SAMPLES samples the fit uses a deterministic
// stratified subsample: three visualisation axes do not need 65k samples to be pinned down.

export interface PrincipalComponents {
  /** k unit eigenvectors of the covariance, row-major [k, C]; the largest-magnitude loading of each is positive. */
  components: Float64Array;
  /** Matching covariance eigenvalues (unbiased, divided by samples - 1), in decreasing order. */
  eigenvalues: Float64Array;
  /** Per-channel mean of the samples used. */
  mean: Float64Array;
  /** How many of the N samples went into the fit. */
  samples: number;
}

export interface PcaOptions {
  /** Fit on at most this many samples (stratified, deterministic); all N are still projected. */
  maxSamples?: number;
  /** Percent of each tail mapped to 0 / 255 by the robust scaling in pcaToRgb. */
  clipPercent?: number;
}

export const DEFAULT_MAX_SAMPLES = 8192
const DEFAULT_CLIP_PERCENT = 1
const MAX_LANCZOS_STEPS = 120
const CONVERGENCE_TOLERANCE = 1e-8
const CONVERGENCE_CHECK_INTERVAL = 4

// ---- deterministic pseudo-random numbers (xorshift32), so identical inputs give identical output ----

function xorshift32 (seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x100000000
  }
}

// ---- sample matrix ----

interface SampleMatrix {
  data: Float32Array; // [C, S]
  channels: number;
  samples: number;
  mean: Float64Array;
}

/** Every sample when they fit, else one random sample per equal-width stratum (even spatial coverage). */
function sampleMatrix (features: Float32Array, channels: number, count: number, maxSamples: number): SampleMatrix {
  let data = features
  let samples = count
  if (count > maxSamples) {
    samples = maxSamples
    const random = xorshift32(0x9e3779b9)
    const picks = new Int32Array(samples)
    for (let s = 0; s < samples; s++) picks[s] = Math.min(count - 1, Math.floor(((s + random()) * count) / samples))
    data = new Float32Array(channels * samples)
    for (let c = 0; c < channels; c++) {
      const from = c * count
      const to = c * samples
      for (let s = 0; s < samples; s++) data[to + s] = features[from + picks[s]]
    }
  }
  const mean = new Float64Array(channels)
  for (let c = 0; c < channels; c++) {
    let sum = 0
    for (let i = c * samples, end = i + samples; i < end; i++) sum += data[i]
    mean[c] = sum / samples
  }
  return { data, channels, samples, mean }
}

/**
 * out = Cov·q, with Cov = (X - μ1ᵀ)(X - μ1ᵀ)ᵀ / (S - 1), without forming Cov or a centred copy of X:
 * y = (X - μ1ᵀ)ᵀq, then out = (X - μ1ᵀ)y. Rows are taken four at a time so each load of y
 * serves four multiply-adds and the dot products run as four independent add chains.
 */
function covarianceTimes (m: SampleMatrix, q: Float64Array, y: Float64Array, out: Float64Array): void {
  const { data, channels, samples: n, mean } = m
  let meanDotQ = 0
  for (let c = 0; c < channels; c++) meanDotQ += mean[c] * q[c]

  y.fill(-meanDotQ)
  let c = 0
  for (; c + 3 < channels; c += 4) {
    const [q0, q1, q2, q3] = [q[c], q[c + 1], q[c + 2], q[c + 3]]
    const r0 = c * n
    const [r1, r2, r3] = [r0 + n, r0 + 2 * n, r0 + 3 * n]
    for (let i = 0; i < n; i++) y[i] += q0 * data[r0 + i] + q1 * data[r1 + i] + q2 * data[r2 + i] + q3 * data[r3 + i]
  }
  for (; c < channels; c++) {
    const qc = q[c]
    for (let i = 0, r = c * n; i < n; i++) y[i] += qc * data[r + i]
  }

  let ySum = 0
  for (let i = 0; i < n; i++) ySum += y[i]
  const norm = 1 / Math.max(1, n - 1)
  c = 0
  for (; c + 3 < channels; c += 4) {
    const r0 = c * n
    const [r1, r2, r3] = [r0 + n, r0 + 2 * n, r0 + 3 * n]
    let s0 = 0
    let s1 = 0
    let s2 = 0
    let s3 = 0
    for (let i = 0; i < n; i++) {
      const yi = y[i]
      s0 += data[r0 + i] * yi
      s1 += data[r1 + i] * yi
      s2 += data[r2 + i] * yi
      s3 += data[r3 + i] * yi
    }
    out[c] = (s0 - mean[c] * ySum) * norm
    out[c + 1] = (s1 - mean[c + 1] * ySum) * norm
    out[c + 2] = (s2 - mean[c + 2] * ySum) * norm
    out[c + 3] = (s3 - mean[c + 3] * ySum) * norm
  }
  for (; c < channels; c++) {
    let s = 0
    for (let i = 0, r = c * n; i < n; i++) s += data[r + i] * y[i]
    out[c] = (s - mean[c] * ySum) * norm
  }
}

// ---- small dense symmetric eigenproblem ----

export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/** Cyclic Jacobi on a symmetric n×n matrix (overwritten). Returns eigenvalues descending and eigenvectors as columns of [n, n]. */
export function jacobiEigen (matrix: Float64Array, n: number): SymmetricEigen {
  const a = matrix
  const v = new Float64Array(n * n)
  for (let i = 0; i < n; i++) v[i * n + i] = 1
  for (let sweep = 0; sweep < 100; sweep++) {
    let offDiagonal = 0
    let diagonal = 0
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] * a[i * n + i]
      for (let j = i + 1; j < n; j++) offDiagonal += a[i * n + j] * a[i * n + j]
    }
    if (offDiagonal <= 1e-30 * diagonal || offDiagonal === 0) break
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]
        if (apq === 0) continue
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const cos = 1 / Math.sqrt(t * t + 1)
        const sin = t * cos
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]
          const akq = a[k * n + q]
          a[k * n + p] = cos * akp - sin * akq
          a[k * n + q] = sin * akp + cos * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]
          const aqk = a[q * n + k]
          a[p * n + k] = cos * apk - sin * aqk
          a[q * n + k] = sin * apk + cos * aqk
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]
          const vkq = v[k * n + q]
          v[k * n + p] = cos * vkp - sin * vkq
          v[k * n + q] = sin * vkp + cos * vkq
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x])
  const values = new Float64Array(n)
  const vectors = new Float64Array(n * n)
  order.forEach((from, to) => {
    values[to] = a[from * n + from]
    for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from]
  })
  return { values, vectors }
}

// ---- Lanczos with full reorthogonalisation ----

function dot (a: Float64Array, b: Float64Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** Removes from w its components along basis[0..count) (twice: "twice is enough" for orthogonality). */
function orthogonalise (w: Float64Array, basis: Float64Array[], count: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < count; j++) {
      const b = basis[j]
      const d = dot(w, b)
      for (let i = 0; i < w.length; i++) w[i] -= d * b[i]
    }
  }
}

/** A fresh unit vector orthogonal to the basis so far, or null when the basis already spans everything. */
function freshDirection (random: () => number, basis: Float64Array[], count: number, size: number): Float64Array | null {
  for (let attempt = 0; attempt < 5; attempt++) {
    const w = new Float64Array(size)
    for (let i = 0; i < size; i++) w[i] = random() - 0.5
    orthogonalise(w, basis, count)
    const norm = Math.sqrt(dot(w, w))
    if (norm > 1e-8) {
      for (let i = 0; i < size; i++) w[i] /= norm
      return w
    }
  }
  return null
}

function tridiagonal (alpha: number[], beta: number[], steps: number): Float64Array {
  const t = new Float64Array(steps * steps)
  for (let i = 0; i < steps; i++) {
    t[i * steps + i] = alpha[i]
    if (i + 1 < steps) t[i * steps + i + 1] = t[(i + 1) * steps + i] = beta[i]
  }
  return t
}

function lanczos (m: SampleMatrix, k: number): { components: Float64Array; eigenvalues: Float64Array } {
  const size = m.channels
  const maxSteps = Math.min(size, Math.max(MAX_LANCZOS_STEPS, 2 * k + 20))
  const random = xorshift32(0x2545f491)
  const basis: Float64Array[] = []
  const alpha: number[] = []
  const beta: number[] = []
  const y = new Float64Array(m.samples)

  let v = freshDirection(random, basis, 0, size)
  let ritz: SymmetricEigen = { values: new Float64Array(0), vectors: new Float64Array(0) }
  let steps = 0
  while (v !== null && steps < maxSteps) {
    basis.push(v)
    const w = new Float64Array(size)
    covarianceTimes(m, v, y, w)
    alpha.push(dot(w, v))
    orthogonalise(w, basis, basis.length)
    steps++

    const b = Math.sqrt(dot(w, w))
    const scale = Math.max(...alpha.map(Math.abs), ...beta.map(Math.abs), Number.MIN_VALUE)
    const invariant = b <= 1e-12 * scale
    // Checking costs a dense eigensolve of T, O(steps³), so only every few steps (and whenever
    // the Krylov space closes, where the residual is zero).
    if (steps >= k && (invariant || (steps - k) % CONVERGENCE_CHECK_INTERVAL === 0)) {
      // Converged when each wanted Ritz pair's residual, |β·(last entry of its eigenvector)|, is negligible.
      ritz = jacobiEigen(tridiagonal(alpha, beta, steps), steps)
      let converged = true
      for (let i = 0; i < k && converged; i++) {
        converged = Math.abs(b * ritz.vectors[(steps - 1) * steps + i]) <= CONVERGENCE_TOLERANCE * scale
      }
      if (converged) break
    }
    if (invariant) {
      // The Krylov space is exhausted (e.g. low-rank data): continue from a new orthogonal direction; T stays block-diagonal.
      beta.push(0)
      v = freshDirection(random, basis, basis.length, size)
    } else {
      beta.push(b)
      for (let i = 0; i < size; i++) w[i] /= b
      v = w
    }
  }

  if (ritz.values.length !== steps) ritz = jacobiEigen(tridiagonal(alpha, beta, steps), steps)

  const components = new Float64Array(k * size)
  const eigenvalues = new Float64Array(k)
  for (let i = 0; i < Math.min(k, steps); i++) {
    eigenvalues[i] = Math.max(0, ritz.values[i])
    const u = components.subarray(i * size, (i + 1) * size)
    for (let j = 0; j < steps; j++) {
      const weight = ritz.vectors[j * steps + i]
      const bj = basis[j]
      for (let c = 0; c < size; c++) u[c] += weight * bj[c]
    }
    normaliseAndFixSign(u)
  }
  return { components, eigenvalues }
}

/** Eigenvectors are defined up to sign; pinning the largest-magnitude loading positive makes colours stable. */
function normaliseAndFixSign (u: Float64Array): void {
  let norm = 0
  let largest = 0
  for (let c = 0; c < u.length; c++) {
    norm += u[c] * u[c]
    if (Math.abs(u[c]) > Math.abs(u[largest])) largest = c
  }
  const factor = (u[largest] < 0 ? -1 : 1) / (Math.sqrt(norm) || 1)
  for (let c = 0; c < u.length; c++) u[c] *= factor
}

function checkLayout (features: Float32Array, channels: number, count: number): void {
  if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(count) || count < 1) {
    throw new RangeError(`pca: invalid layout ${channels} channels × ${count} samples`)
  }
  if (features.length !== channels * count) {
    throw new RangeError(`pca: ${channels}×${count} needs ${channels * count} values, got ${features.length}`)
  }
}

/** Top-k principal components of N = count samples laid out channel-major [C, N]. */
export function principalComponents (
  features: Float32Array,
  channels: number,
  count: number,
  k: number,
  options: PcaOptions = {}
): PrincipalComponents {
  checkLayout(features, channels, count)
  if (!Number.isInteger(k) || k < 1 || k > channels) throw new RangeError(`pca: k=${k} must be in 1..${channels}`)
  const m = sampleMatrix(features, channels, count, Math.max(2, options.maxSamples ?? DEFAULT_MAX_SAMPLES))
  return { ...lanczos(m, k), mean: m.mean, samples: m.samples }
}

// ---- rendering ----

/** Value at the given percent of the sorted values, linearly interpolated. */
function percentile (sorted: Float32Array, percent: number): number {
  const position = (percent / 100) * (sorted.length - 1)
  const below = Math.floor(position)
  const above = Math.min(sorted.length - 1, below + 1)
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below)
}

/** Projections of every sample on the first three components (missing ones project to 0), [3][N]. */
function projectOnThree (features: Float32Array, channels: number, count: number, pcs: PrincipalComponents): Float32Array[] {
  const k = pcs.eigenvalues.length
  const weight = (j: number, c: number) => (j < k ? pcs.components[j * channels + c] : 0)
  // One pass over the features feeding three accumulators: the feature map is the big array here.
  // Channels go two at a time to halve the accumulator loads and stores.
  const acc0 = new Float64Array(count)
  const acc1 = new Float64Array(count)
  const acc2 = new Float64Array(count)
  const offsets = [0, 0, 0]
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < 3; j++) offsets[j] += weight(j, c) * pcs.mean[c]
  }
  let c = 0
  for (; c + 1 < channels; c += 2) {
    const [a0, a1, a2] = [weight(0, c), weight(1, c), weight(2, c)]
    const [b0, b1, b2] = [weight(0, c + 1), weight(1, c + 1), weight(2, c + 1)]
    for (let i = 0, ra = c * count, rb = ra + count; i < count; i++) {
      const x = features[ra + i]
      const z = features[rb + i]
      acc0[i] += a0 * x + b0 * z
      acc1[i] += a1 * x + b1 * z
      acc2[i] += a2 * x + b2 * z
    }
  }
  for (; c < channels; c++) {
    const [a0, a1, a2] = [weight(0, c), weight(1, c), weight(2, c)]
    for (let i = 0, ra = c * count; i < count; i++) {
      const x = features[ra + i]
      acc0[i] += a0 * x
      acc1[i] += a1 * x
      acc2[i] += a2 * x
    }
  }
  return [acc0, acc1, acc2].map((acc, j) => {
    const projection = new Float32Array(count)
    for (let i = 0; i < count; i++) projection[i] = acc[i] - offsets[j]
    return projection
  })
}

/**
 * False-colour image of a feature map: the top 3 principal components become R, G and B,
 * each stretched so its 1st..99th percentile (see clipPercent) spans 0..255. Output is [N, 3].
 * A component with no spread (fewer than 3 channels, or constant data) is drawn as mid-grey 128.
 */
export function pcaToRgb (features: Float32Array, channels: number, count: number, options: PcaOptions = {}): Uint8Array {
  checkLayout(features, channels, count)
  const k = Math.min(3, channels)
  const pcs = principalComponents(features, channels, count, k, options)
  const projections = projectOnThree(features, channels, count, pcs)
  const clip = Math.min(50, Math.max(0, options.clipPercent ?? DEFAULT_CLIP_PERCENT))

  const rgb = new Uint8Array(count * 3).fill(128)
  for (let j = 0; j < k; j++) {
    const values = projections[j]
    const sorted = values.slice().sort()
    const low = percentile(sorted, clip)
    const high = percentile(sorted, 100 - clip)
    if (!(high > low)) continue
    const scale = 255 / (high - low)
    for (let i = 0; i < count; i++) {
      const t = (values[i] - low) * scale
      rgb[i * 3 + j] = t <= 0 ? 0 : t >= 255 ? 255 : Math.round(t)
    }
  }
  return rgb
}
