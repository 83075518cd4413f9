import { SeededRandom } from '../../../src/synthetic/random.js'

/** Seeded choices for the fuzzer: a case is its seed and index, nothing else, so that any case can be replayed. */
export class FuzzRandom {
  private readonly random: SeededRandom

  constructor (seed: number, index: number) {
    // Each case draws from its own stream: replaying case 1234 does not need cases 0 to 1233.
    this.random = new SeededRandom(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35))
  }

  uniform (): number {
    return this.random.uniform()
  }

  /** An integer in [low, high]. */
  int (low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low + 1))
  }

  chance (probability: number): boolean {
    return this.uniform() < probability
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]
  }

  bytes (length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255)
    return out
  }
}
