/**
 * How many images a batch may take, learnt from the runs themselves. On a GPU a batch of 8 costs little more than
 * one image; on a small CPU the best batch is smaller (activations fall out of the cache): on the 2-core benchmark
 * machine the raw session served 36 img/s at batch 1, 40 at batch 4 and 37 at batch 8.
 *
 * Each input size keeps a running mean of the time per image of each batch size it has run. A batch may take as many
 * images as the size that has been fastest per image (among those run `samples` times or more), never more than
 * `maxBatchSize`; with no such size yet, `maxBatchSize`. The choice changes only for a size faster by more than
 * `margin`, so that noise does not toss it between two sizes of about the same speed. Every `exploreEvery`-th batch
 * of an input size is capped at half or twice the chosen size in turn instead, so that its neighbours are measured
 * (also where the queue always holds enough for the largest) and the choice climbs to the fastest size and follows a
 * change (a warmer machine, a quieter neighbour).
 */
export class BatchSizer {
  private readonly inputs = new Map<string, InputSizes>()

  constructor (
    private readonly maxBatchSize: number,
    private readonly settings = { samples: 3, exploreEvery: 8, weight: 0.2, margin: 0.03, inputs: 64 }
  ) {}

  /** The largest batch for images of `key` now. */
  cap (key: string): number {
    const input = this.inputs.get(key)
    if (input === undefined) return this.maxBatchSize
    if (input.batches % this.settings.exploreEvery !== this.settings.exploreEvery - 1) return input.chosen
    const smaller = Math.max(1, Math.floor(input.chosen / 2))
    const larger = Math.min(this.maxBatchSize, input.chosen * 2)
    if (smaller === input.chosen) return larger
    if (larger === input.chosen) return smaller
    return input.explored % 2 === 0 ? smaller : larger
  }

  /** A batch of `size` images of `key` took `ms`. */
  ran (key: string, size: number, ms: number): void {
    let input = this.inputs.get(key)
    if (input === undefined) {
      // Input sizes come and go (dense requests at any size): the oldest is forgotten first.
      if (this.inputs.size >= this.settings.inputs) this.inputs.delete(this.inputs.keys().next().value as string)
      input = { batches: 0, explored: 0, chosen: this.maxBatchSize, sizes: new Map() }
      this.inputs.set(key, input)
    }
    if (input.batches % this.settings.exploreEvery === this.settings.exploreEvery - 1) input.explored++
    input.batches++
    const previous = input.sizes.get(size)
    const msPerImage = ms / size
    input.sizes.set(size, previous === undefined
      ? { msPerImage, runs: 1 }
      : { msPerImage: previous.msPerImage + this.settings.weight * (msPerImage - previous.msPerImage), runs: previous.runs + 1 })
    input.chosen = this.choose(input)
  }

  private choose (input: InputSizes): number {
    const measured = (size: number): number | undefined => {
      const seen = input.sizes.get(size)
      return seen !== undefined && seen.runs >= this.settings.samples ? seen.msPerImage : undefined
    }
    let chosen = input.chosen
    let chosenMs = measured(chosen) ?? Infinity
    for (const [size] of input.sizes) {
      const ms = measured(size)
      if (ms !== undefined && ms < chosenMs * (1 - this.settings.margin)) {
        chosen = size
        chosenMs = ms
      }
    }
    return chosen
  }
}

interface InputSizes {
  batches: number
  explored: number
  /** The cap outside exploration. */
  chosen: number
  sizes: Map<number, { msPerImage: number, runs: number }>
}
