import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { HiddenStates } from '../../src/inference/backbone.js'
import { BatchSizer } from '../../src/inference/batch-sizer.js'
import { Batcher, type BackboneRunner } from '../../src/inference/batcher.js'

/** Feeds `runs` batches of `size` at `msPerImage` each. */
function feed (sizer: BatchSizer, key: string, size: number, msPerImage: number, runs = 3): void {
  for (let i = 0; i < runs; i++) sizer.ran(key, size, size * msPerImage)
}

/** The caps asked for over the next `n` batches (each one then runs at that cap, at `msPerImage` for its size). */
function caps (sizer: BatchSizer, key: string, n: number, msPerImage: (size: number) => number): number[] {
  return Array.from({ length: n }, () => {
    const cap = sizer.cap(key)
    sizer.ran(key, cap, cap * msPerImage(cap))
    return cap
  })
}

t.test('without measurements batches take up to the maximum', async (t) => {
  const sizer = new BatchSizer(8)
  t.equal(sizer.cap('224x224'), 8)
  sizer.ran('224x224', 8, 400)
  t.equal(sizer.cap('224x224'), 8, 'one run is not yet a measurement')
})

t.test('where one image at a time is faster per image, batches take one; every 8th tries two', async (t) => {
  const sizer = new BatchSizer(8)
  feed(sizer, 'k', 8, 60)
  feed(sizer, 'k', 1, 50)
  const next = caps(sizer, 'k', 32, (size) => size === 1 ? 50 : 60)
  const explored = (_: number, i: number): boolean => (i + 6) % 8 === 7
  t.same(next.filter((cap, i) => !explored(cap, i)), new Array(28).fill(1), 'the 28 others take one')
  t.same(next.filter(explored), [2, 2, 2, 2], 'the explored caps, counting the 6 batches fed before')
})

t.test('where batching pays, as on a GPU, batches stay full', async (t) => {
  const sizer = new BatchSizer(8)
  feed(sizer, 'k', 1, 50)
  feed(sizer, 'k', 8, 8)
  const next = caps(sizer, 'k', 32, (size) => size === 8 ? 8 : 12)
  t.same(next.filter((_, i) => (i + 6) % 8 !== 7), new Array(28).fill(8))
  t.same(next.filter((_, i) => (i + 6) % 8 === 7), [4, 4, 4, 4], 'exploring half')
})

t.test('from the maximum it climbs down to the fastest size, and stays there', async (t) => {
  // The benchmark machine's raw session per image: 1: 55 ms, 2: 52, 4: 50, 8: 54.
  const cost: Record<number, number> = { 1: 55, 2: 52, 4: 50, 8: 54 }
  const sizer = new BatchSizer(8)
  const next = caps(sizer, 'k', 240, (size) => cost[size])
  t.ok(next.slice(-40).filter((cap) => cap === 4).length >= 35, `settled on 4: ${next.join(' ')}`)
})

t.test('a size about as fast does not take over: the choice moves for more than 3%', async (t) => {
  const sizer = new BatchSizer(8)
  feed(sizer, 'k', 4, 50)
  feed(sizer, 'k', 2, 49)
  t.equal(sizer.cap('k'), 4)
  feed(sizer, 'k', 2, 45)
  t.equal(sizer.cap('k'), 2)
})

t.test('it follows a change: when single runs slow down, batches grow again', async (t) => {
  const sizer = new BatchSizer(8)
  feed(sizer, 'k', 8, 60)
  feed(sizer, 'k', 1, 50)
  t.equal(sizer.cap('k'), 1)
  // Every run of one now costs 90 ms per image, every larger batch 60.
  const next = caps(sizer, 'k', 64, (size) => size === 1 ? 90 : 60)
  t.ok(next.slice(-16).filter((cap) => cap > 1).length >= 14, `grown: ${next.join(' ')}`)
})

t.test('each input size learns on its own, and the oldest of many is forgotten', async (t) => {
  const sizer = new BatchSizer(8, { samples: 3, exploreEvery: 1000, weight: 0.2, margin: 0.03, inputs: 2 })
  feed(sizer, 'small', 8, 60)
  feed(sizer, 'small', 1, 50)
  feed(sizer, 'large', 1, 50)
  feed(sizer, 'large', 4, 20)
  t.equal(sizer.cap('small'), 1)
  t.equal(sizer.cap('large'), 4)
  feed(sizer, 'third', 2, 10)
  t.equal(sizer.cap('small'), 8, 'forgotten: back to the maximum')
  t.equal(sizer.cap('large'), 4)
})

/**
 * A backbone whose batch of n costs `cost(n)` ms of wall time, one batch at a time in the order sent, as the
 * inference thread runs them (a batch staged behind another starts when it ends).
 */
function timedRunner (cost: (batch: number) => number, sizes: number[]): BackboneRunner {
  let tail = Promise.resolve()
  return {
    run: async (_pixels, batch): Promise<HiddenStates> => {
      const run = tail.then(async () => {
        sizes.push(batch)
        await sleep(cost(batch))
      })
      tail = run
      await run
      return { data: new Float32Array(batch), batch, tokens: 1, channels: 1 }
    }
  }
}

t.test('the batcher runs one image at a time once batches have proved slower per image, and not with adaptiveBatchSize off', async (t) => {
  // One image: 20 ms; a batch: 40 ms per image.
  const cost = (batch: number): number => batch === 1 ? 20 : 40 * batch
  const input = { pixels: new Float32Array(3 * 16 * 16), height: 16, width: 16 }
  const serve = async (adaptive: boolean): Promise<number[]> => {
    const sizes: number[] = []
    const batcher = new Batcher(timedRunner(cost, sizes), { maxBatchSize: 4, batchWaitMs: 0, incomingWaitMs: 0, adaptiveBatchSize: adaptive })
    // Four clients in a closed loop, 12 requests each.
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 12; i++) await batcher.submit({ ...input })
    }))
    return sizes
  }
  const adaptive = await serve(true)
  t.ok(adaptive.slice(-8).filter((size) => size === 1).length >= 6, `adaptive: the last batches are mostly single (${adaptive.join(' ')})`)
  const fixed = await serve(false)
  t.ok(fixed.filter((size) => size > 1).length >= fixed.length / 3, `fixed: batches take what has queued (${fixed.join(' ')})`)
})
