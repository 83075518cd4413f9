import t from 'tap'
import type { TokenOutput } from '../../src/inference/batcher.js'
import { inferenceSpan } from '../../src/inference/inference-span.js'

/** An image's output from a batch (its buffer) that started at `startedAt` and ran `inferenceMs`. */
const from = (batch: Float32Array, startedAt: number, inferenceMs: number): TokenOutput =>
  ({ tokens: batch.subarray(0, 1), tokenCount: 1, channels: 1, queueMs: 0, inferenceMs, startedAt, batchSize: 1 })

t.test('a request\'s inference time is the union of its batches\' runs', async (t) => {
  const [a, b, c] = [new Float32Array(2), new Float32Array(2), new Float32Array(2)]
  t.equal(inferenceSpan([from(a, 0, 30), from(a, 0, 30)]), 30, 'images of one batch count its run once')
  t.equal(inferenceSpan([from(a, 0, 30), from(b, 50, 20)]), 50, 'batches one after another add up')
  t.equal(inferenceSpan([from(a, 0, 30), from(b, 10, 30)]), 40, 'batches side by side on two instances count their overlap once')
  t.equal(inferenceSpan([from(b, 10, 5), from(a, 0, 30), from(c, 40, 10)]), 40, 'one inside another, then one after, in any order')
  t.equal(inferenceSpan([]), 0)
})
