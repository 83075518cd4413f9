/**
 * How many images a batch may take, learnt from the runs themselves. On a GPU a batch of 8 costs little more than
 * one image, but on a small CPU it can cost more per image than eight runs of one (activations fall out of the cache):
 * on the 2-core benchmark machine the raw session served 20.3 img/s at batch 1 and 19.1 at batch 8. Each input
 * size keeps the mean time per image of each batch size it has run (an exponentially weighted mean), and a batch may
 * take as many images as the size that has been fastest per image (among those run `samples` times or more), never
 * more than `maxBatchSize`. Until some size has that many runs, and every `exploreEvery`-th batch after, the cap is
 * `maxBatchSize` again, so that larger batches are measured and a change (a warmer machine, a quieter neighbour) is
 * seen.
 */
export class BatchSizer {
  private readonly sizes = new Map<string, Map<number, { msPerImage: number, runs: number }>>()
  private batches = 0

  constructor (
    private readonly maxBatchSize: number,
    private readonly settings = { samples: 3, exploreEvery: 16, weight: 0.2, keys: 64 }
  ) {}

  /** The largest batch for images of `key` now. */
  cap (key: string): number {
    const seen = this.sizes.get(key)
    if (seen === undefined || this.batches % this.settings.exploreEvery === 0) return this.maxBatchSize
    let best: number | undefined
    let bestMs = Infinity
    for (const [size, { msPerImage, runs }] of seen) {
      if (runs >= this.settings.samples && msPerImage < bestMs) {
        best = size
        bestMs = msPerImage
      }
    }
    return best ?? this.maxBatchSize
  }

  /** A batch of `size` images of `key` took `ms`. */
  ran (key: string, size: number, ms: number): void {
    this.batches++
    let seen = this.sizes.get(key)
    if (seen === undefined) {
      // Input sizes come and go (dense requests at any size): the oldest is forgotten first.
      if (this.sizes.size >= this.settings.keys) this.sizes.delete(this.sizes.keys().next().value as string)
      seen = new Map()
      this.sizes.set(key, seen)
    }
    const previous = seen.get(size)
    const msPerImage = ms / size
    seen.set(size, previous === undefined
      ? { msPerImage, runs: 1 }
      : { msPerImage: previous.msPerImage + this.settings.weight * (msPerImage - previous.msPerImage), runs: previous.runs + 1 })
  }
}
