/**
 * How many images a batch may take, learnt from the runs themselves. On a GPU a batch of 8 costs little more than
 * one image, but on a small CPU it can cost more per image than eight runs of one (activations fall out of the cache):
 * on the 2-core benchmark machine the raw session served 20.3 img/s at batch 1 and 19.1 at batch 8.
 *
 * Each input size keeps a running mean of the time per image of each batch size it has run, and a batch may take as
 * many images as the size that has been fastest per image (among those run `samples` times or more), never more
 * than `maxBatchSize`; with no such size yet, `maxBatchSize`. Every `exploreEvery`-th batch of an input size is capped
 * at the next of 1, 2, 4, … `maxBatchSize` in turn instead, so that every size gets measured, also where the queue
 * always holds enough for the largest, and a change (a warmer machine, a quieter neighbour) is seen.
 */
export class BatchSizer {
  private readonly inputs = new Map<string, { batches: number, explored: number, sizes: Map<number, { msPerImage: number, runs: number }> }>()
  private readonly candidates: number[]

  constructor (
    private readonly maxBatchSize: number,
    private readonly settings = { samples: 3, exploreEvery: 8, weight: 0.2, inputs: 64 }
  ) {
    this.candidates = []
    for (let size = 1; size < maxBatchSize; size *= 2) this.candidates.push(size)
    this.candidates.push(maxBatchSize)
  }

  /** The largest batch for images of `key` now. */
  cap (key: string): number {
    const input = this.inputs.get(key)
    if (input === undefined) return this.maxBatchSize
    if (input.batches % this.settings.exploreEvery === this.settings.exploreEvery - 1) {
      return this.candidates[input.explored % this.candidates.length]
    }
    let best = this.maxBatchSize
    let bestMs = Infinity
    for (const [size, { msPerImage, runs }] of input.sizes) {
      if (runs >= this.settings.samples && msPerImage < bestMs) {
        best = size
        bestMs = msPerImage
      }
    }
    return best
  }

  /** A batch of `size` images of `key` took `ms`. */
  ran (key: string, size: number, ms: number): void {
    let input = this.inputs.get(key)
    if (input === undefined) {
      // Input sizes come and go (dense requests at any size): the oldest is forgotten first.
      if (this.inputs.size >= this.settings.inputs) this.inputs.delete(this.inputs.keys().next().value as string)
      input = { batches: 0, explored: 0, sizes: new Map() }
      this.inputs.set(key, input)
    }
    if (input.batches % this.settings.exploreEvery === this.settings.exploreEvery - 1) input.explored++
    input.batches++
    const previous = input.sizes.get(size)
    const msPerImage = ms / size
    input.sizes.set(size, previous === undefined
      ? { msPerImage, runs: 1 }
      : { msPerImage: previous.msPerImage + this.settings.weight * (msPerImage - previous.msPerImage), runs: previous.runs + 1 })
  }
}
