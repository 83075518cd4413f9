/**
 * The native decoder's resample written again plainly in TypeScript, every float operation rounded to float32 as C
 * does it: the weights of each output position (edges extended), a horizontal pass over every input row, then a
 * vertical one, each adding its taps in order. For testing the C code's faster loops against the arithmetic they
 * must keep.
 */
export type Kernel = 'linear' | 'cubic' | 'lanczos3'

const f = Math.fround

function filter (kernel: Kernel, x: number): number {
  x = Math.abs(x)
  if (kernel === 'linear') return x < 1 ? 1 - x : 0
  if (kernel === 'cubic') {
    if (x < 1) return (1.5 * x - 2.5) * x * x + 1
    if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2
    return 0
  }
  if (x === 0) return 1
  if (x >= 3) return 0
  return 3 * Math.sin(Math.PI * x) * Math.sin(Math.PI * x / 3) / (Math.PI * Math.PI * x * x)
}

function taps (input: number, output: number, kernel: Kernel): Array<{ first: number, weights: number[] }> {
  const scale = input / output
  const stretch = Math.max(scale, 1)
  const support = { linear: 1, cubic: 2, lanczos3: 3 }[kernel] * stretch
  const count = Math.ceil(2 * support) + 1
  return Array.from({ length: output }, (_, i) => {
    const centre = (i + 0.5) * scale
    const first = Math.floor(centre - support + 0.5)
    const raw = Array.from({ length: count }, (_, k) => f(filter(kernel, (first + k + 0.5 - centre) / stretch)))
    const sum = raw.reduce((total, w) => total + w, 0)
    return { first, weights: raw.map((w) => f(w / sum)) }
  })
}

const clamp = (i: number, size: number): number => Math.min(Math.max(i, 0), size - 1)

const toByte = (v: number): number => v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(f(v + 0.5))

/** RGB bytes (width × height) resampled to outWidth × outHeight. */
export function floatResample (rgb: Uint8Array, width: number, height: number, outWidth: number, outHeight: number, kernel: Kernel): Buffer {
  const across = taps(width, outWidth, kernel)
  const down = taps(height, outHeight, kernel)
  const rows = new Float32Array(height * outWidth * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const { first, weights } = across[x]
      for (let c = 0; c < 3; c++) {
        let sum = 0
        weights.forEach((w, k) => { sum = f(sum + f(w * rgb[(y * width + clamp(first + k, width)) * 3 + c])) })
        rows[(y * outWidth + x) * 3 + c] = sum
      }
    }
  }
  const out = Buffer.alloc(outWidth * outHeight * 3)
  for (let y = 0; y < outHeight; y++) {
    const { first, weights } = down[y]
    for (let i = 0; i < outWidth * 3; i++) {
      let sum = 0
      weights.forEach((w, k) => { sum = f(sum + f(w * rows[clamp(first + k, height) * outWidth * 3 + i])) })
      out[y * outWidth * 3 + i] = toByte(sum)
    }
  }
  return out
}
