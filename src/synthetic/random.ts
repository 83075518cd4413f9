/** Seeded pseudo-random numbers, so that a synthetic model is the same bytes on every machine. */
export class SeededRandom {
  private state: number

  constructor (seed: number) {
    this.state = seed >>> 0
  }

  /** mulberry32: tiny, fast and good enough for weights that only need to be deterministic. */
  uniform (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Box–Muller; one of the pair is dropped to keep the stream simple. */
  normal (): number {
    const u = Math.max(this.uniform(), 1e-12)
    const v = this.uniform()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  normalArray (length: number, std: number, mean = 0): Float32Array {
    const out = new Float32Array(length)
    for (let i = 0; i < length; i++) out[i] = mean + std * this.normal()
    return out
  }
}
