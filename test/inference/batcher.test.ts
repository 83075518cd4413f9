import t from 'tap'
import { ServiceError } from '../../src/errors.js'
import type { HiddenStates } from '../../src/inference/backbone.js'
import { Batcher, type BackboneRunner, type BatcherObserver, type PixelInput, type TokenOutput } from '../../src/inference/batcher.js'
import { TensorPool } from '../../src/inference/tensor-pool.js'

interface Call {
  batch: number
  height: number
  width: number
  pixels: number[]
}

/**
 * Records every call. Each image of a batch gets one token of 4 channels: [index in the batch, first pixel of its
 * slice, last pixel of its slice, call number], so a job can tell whether it got its own slice of the right call.
 * With `hold`, each run waits until `release()`; `failOn` holds the call numbers that throw.
 */
class FakeRunner implements BackboneRunner {
  calls: Call[] = []
  hold = false
  failOn = new Set<number>()
  private waiting: Array<() => void> = []

  run = async (pixels: Float32Array, batch: number, height: number, width: number): Promise<HiddenStates> => {
    const call = this.calls.length
    this.calls.push({ batch, height, width, pixels: Array.from(pixels) })
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve))
    if (this.failOn.has(call)) throw new Error(`call ${call} failed`)
    const per = 3 * height * width
    const data = new Float32Array(batch * 4)
    for (let i = 0; i < batch; i++) data.set([i, pixels[i * per], pixels[(i + 1) * per - 1], call], i * 4)
    return { data, batch, tokens: 1, channels: 4 }
  }

  /** Lets the oldest held run finish, and waits for the batcher to settle its jobs. */
  async release (): Promise<void> {
    this.waiting.shift()?.()
    await settle()
  }
}

const settle = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** An image whose pixels are id·1000 + k: its first and last values name it. */
function image (id: number, height = 2, width = 3): PixelInput {
  return { pixels: Float32Array.from({ length: 3 * height * width }, (_, k) => id * 1000 + k), height, width }
}

const lastPixel = (input: PixelInput): number => input.pixels[input.pixels.length - 1]

/** What the fake runner answers for `input` at `index` of call `call`. */
const expectedTokens = (input: PixelInput, index: number, call: number): number[] => [index, input.pixels[0], lastPixel(input), call]

/** The ids of the images a call received, read from the first pixel of each slice. */
const idsOf = (call: Call): number[] => {
  const per = 3 * call.height * call.width
  return Array.from({ length: call.batch }, (_, i) => Math.floor(call.pixels[i * per] / 1000))
}

function recordingObserver (): BatcherObserver & { depths: number[], batches: number[], seconds: number[] } {
  const depths: number[] = []
  const batches: number[] = []
  const seconds: number[] = []
  return {
    depths,
    batches,
    seconds,
    queueDepth: (depth) => { depths.push(depth) },
    batchRan: (size, s) => { batches.push(size); seconds.push(s) }
  }
}

t.test('same-size jobs submitted together run as one batch while batchWaitMs gathers them', async (t) => {
  const runner = new FakeRunner()
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 15, incomingWaitMs: 0 }, observer)
  const inputs = [image(1), image(2), image(3)]
  const pending = inputs.map((input) => batcher.submit(input))
  t.equal(runner.calls.length, 0, 'nothing runs before the wait is over')
  t.equal(batcher.depth, 3)
  const outputs = await Promise.all(pending)

  t.equal(runner.calls.length, 1)
  t.same(runner.calls[0], { batch: 3, height: 2, width: 3, pixels: inputs.flatMap((input) => Array.from(input.pixels)) })
  outputs.forEach((output, i) => {
    t.same(Array.from(output.tokens), expectedTokens(inputs[i], i, 0), `job ${i} gets its own slice`)
    t.equal(output.tokenCount, 1)
    t.equal(output.channels, 4)
    t.equal(output.batchSize, 3)
    t.ok(output.queueMs >= 15 - 2 && output.queueMs < 1000, `queueMs ${output.queueMs} covers the wait`)
    t.ok(output.inferenceMs >= 0 && output.inferenceMs < 1000, `inferenceMs ${output.inferenceMs}`)
  })
  t.same(observer.depths, [1, 2, 3, 0])
  t.same(observer.batches, [3])
  t.ok(observer.seconds[0] >= 0 && observer.seconds[0] < 1)
  t.equal(batcher.depth, 0)
})

t.test('with batchWaitMs 0 the first job runs alone and the ones that came meanwhile run together', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(1))
  t.equal(runner.calls.length, 1, 'an idle model runs at once')
  t.equal(runner.calls[0].batch, 1)
  const inputs = [image(2), image(3), image(4)]
  const later = inputs.map((input) => batcher.submit(input))
  t.equal(batcher.depth, 3, 'they wait while the model works')
  t.equal(runner.calls.length, 1)

  await runner.release()
  t.same(Array.from((await first).tokens), expectedTokens(image(1), 0, 0))
  t.equal(runner.calls.length, 2)
  t.same(idsOf(runner.calls[1]), [2, 3, 4])
  t.equal(batcher.depth, 0)
  await runner.release()
  const outputs = await Promise.all(later)
  outputs.forEach((output, i) => {
    t.same(Array.from(output.tokens), expectedTokens(inputs[i], i, 1))
    t.equal(output.batchSize, 3)
  })
  t.equal((await first).batchSize, 1)
})

t.test('the wait ends early once a batch is full; maxBatchSize splits the rest', async (t) => {
  const runner = new FakeRunner()
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 2, batchWaitMs: 40, incomingWaitMs: 0 }, observer)
  const inputs = [1, 2, 3, 4, 5].map((id) => image(id))
  const started = performance.now()
  const outputs = await Promise.all(inputs.map((input) => batcher.submit(input)))
  const elapsed = performance.now() - started

  t.same(runner.calls.map(idsOf), [[1, 2], [3, 4], [5]])
  t.same(observer.batches, [2, 2, 1])
  t.same(outputs.map((output) => output.batchSize), [2, 2, 2, 2, 1])
  outputs.forEach((output, i) => {
    const call = Math.floor(i / 2)
    t.same(Array.from(output.tokens), expectedTokens(inputs[i], i % 2, call), `job ${i + 1}`)
  })
  t.ok(outputs[0].queueMs < 30, `full batches do not wait (${outputs[0].queueMs} ms)`)
  t.ok(outputs[4].queueMs >= 40 - 2, `the lone last job waits for companions (${outputs[4].queueMs} ms)`)
  t.ok(elapsed >= 40 - 2)
})

t.test('different sizes never share a batch, and the oldest job decides which size goes next', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const small = (id: number): PixelInput => image(id, 2, 3)
  const large = (id: number): PixelInput => image(id, 4, 3)
  const inputs = [small(1), large(2), small(3), large(4), small(5)]
  const pending = inputs.map((input) => batcher.submit(input))
  t.equal(runner.calls.length, 1)

  await runner.release()
  await runner.release()
  await runner.release()
  const outputs = await Promise.all(pending)
  t.same(runner.calls.map((call) => [call.height, call.width, idsOf(call)]), [
    [2, 3, [1]],
    [4, 3, [2, 4]],
    [2, 3, [3, 5]]
  ], 'job 2 is the oldest waiting, so its size runs before job 3 although job 3 matches the last batch')
  t.same(Array.from(outputs[1].tokens), expectedTokens(inputs[1], 0, 1))
  t.same(Array.from(outputs[3].tokens), expectedTokens(inputs[3], 1, 1))
  t.same(Array.from(outputs[2].tokens), expectedTokens(inputs[2], 0, 2))
  t.same(Array.from(outputs[4].tokens), expectedTokens(inputs[4], 1, 2))
})

t.test('different sizes submitted together during the wait run as separate batches in order', async (t) => {
  const runner = new FakeRunner()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 10, incomingWaitMs: 0 })
  const inputs = [image(1, 4, 3), image(2, 2, 3), image(3, 4, 3), image(4, 2, 5)]
  const outputs = await Promise.all(inputs.map((input) => batcher.submit(input)))
  t.same(runner.calls.map((call) => [call.height, call.width, idsOf(call)]), [
    [4, 3, [1, 3]],
    [2, 3, [2]],
    [2, 5, [4]]
  ])
  t.same(outputs.map((output) => output.batchSize), [2, 1, 2, 1])
  t.same(Array.from(outputs[2].tokens), expectedTokens(inputs[2], 1, 0))
  t.same(Array.from(outputs[3].tokens), expectedTokens(inputs[3], 0, 2))
})

t.test('an aborted job leaves the queue at once with the signal\'s reason, and the model never sees it', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const first = batcher.submit(image(1))
  const controller = new AbortController()
  const a = batcher.submit(image(2))
  const b = batcher.submit(image(3), controller.signal)
  const c = batcher.submit(image(4))
  t.equal(batcher.depth, 3)

  const reason = new ServiceError('deadline_exceeded', 'too slow')
  controller.abort(reason)
  t.equal(batcher.depth, 2, 'removed synchronously')
  t.equal(observer.depths.at(-1), 2)
  const error = await b.catch((e: unknown) => e)
  t.equal(error, reason, 'rejected with the very ServiceError of the signal')

  await runner.release()
  await runner.release()
  await first
  t.same(runner.calls.map(idsOf), [[1], [2, 4]])
  t.notOk(runner.calls.some((call) => call.pixels.includes(3000)), 'no call ever got the aborted pixels')
  t.same(Array.from((await a).tokens), expectedTokens(image(2), 0, 1))
  t.same(Array.from((await c).tokens), expectedTokens(image(4), 1, 1))
})

t.test('an abort without a ServiceError reason becomes client_closed', async (t) => {
  const runner = new FakeRunner()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 1000, incomingWaitMs: 0 })
  const controller = new AbortController()
  const job = batcher.submit(image(1), controller.signal)
  controller.abort()
  const error = await job.catch((e: unknown) => e)
  t.ok(error instanceof ServiceError)
  t.equal((error as ServiceError).code, 'client_closed')
  t.equal((error as ServiceError).status, 499)
  t.equal(batcher.depth, 0)
  await batcher.idle()
  await sleep(5)
  t.equal(runner.calls.length, 0)
})

t.test('aborting the oldest job while the others wait for companions keeps their batch together', async (t) => {
  const runner = new FakeRunner()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 15, incomingWaitMs: 0 })
  const controller = new AbortController()
  const aborted = batcher.submit(image(1), controller.signal)
  const rest = [image(2), image(3)].map((input) => batcher.submit(input))
  controller.abort(new ServiceError('client_closed', 'gone'))
  await t.rejects(aborted, { code: 'client_closed', message: 'gone' })
  const outputs = await Promise.all(rest)
  t.same(runner.calls.map(idsOf), [[2, 3]])
  t.same(outputs.map((output) => output.batchSize), [2, 2])
})

t.test('an abort after the job reached the model changes nothing', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const controller = new AbortController()
  const job = batcher.submit(image(7), controller.signal)
  t.equal(runner.calls.length, 1)
  controller.abort(new ServiceError('deadline_exceeded', 'late'))
  await runner.release()
  t.same(Array.from((await job).tokens), expectedTokens(image(7), 0, 0))
})

t.test('an already-aborted signal rejects at once and queues nothing', async (t) => {
  const runner = new FakeRunner()
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const reason = new ServiceError('deadline_exceeded', 'already late')
  const error = await batcher.submit(image(1), AbortSignal.abort(reason)).catch((e: unknown) => e)
  t.equal(error, reason)
  const plain = await batcher.submit(image(2), AbortSignal.abort()).catch((e: unknown) => e)
  t.equal((plain as ServiceError).code, 'client_closed')
  t.equal(batcher.depth, 0)
  t.same(observer.depths, [])
  t.equal(runner.calls.length, 0)
})

t.test('a runner error rejects every job of its batch, and the next batch still runs', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  runner.failOn.add(1)
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const first = batcher.submit(image(1))
  const failing = [image(2), image(3)].map((input) => batcher.submit(input).then(() => 'resolved', (e: Error) => e.message))
  const other = batcher.submit(image(4, 4, 3))

  await runner.release()
  await runner.release()
  t.same(await Promise.all(failing), ['call 1 failed', 'call 1 failed'])
  t.equal(runner.calls.length, 3, 'the other size runs right after the failure')
  const afterwards = batcher.submit(image(5))
  await runner.release()
  await runner.release()
  t.same(Array.from((await first).tokens), expectedTokens(image(1), 0, 0))
  t.same(Array.from((await other).tokens), expectedTokens(image(4, 4, 3), 0, 2))
  t.same(Array.from((await afterwards).tokens), expectedTokens(image(5), 0, 3))
  t.same(runner.calls.map(idsOf), [[1], [2, 3], [4], [5]])
  t.same(observer.batches, [1, 1, 1], 'the failed batch is not reported as run')
  await batcher.idle()
})

t.test('idle() resolves at once when idle, else once every job has settled', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  let resolved = false
  await batcher.idle().then(() => { resolved = true })
  t.ok(resolved, 'nothing to wait for')

  const settled: number[] = []
  const jobs = [image(1), image(2), image(3, 4, 3)].map((input, i) => batcher.submit(input).then(() => { settled.push(i) }))
  let idleAt = -1
  const idle = batcher.idle().then(() => { idleAt = settled.length })
  await runner.release()
  t.equal(idleAt, -1, 'not idle while work is queued')
  await runner.release()
  t.equal(idleAt, -1)
  await runner.release()
  await idle
  await Promise.all(jobs)
  t.equal(idleAt, 3, 'idle only after the last job settled')
  t.equal(runner.calls.length, 3)
})

t.test('idle() also resolves when the last queued job is aborted', async (t) => {
  const runner = new FakeRunner()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 1000, incomingWaitMs: 0 })
  const controller = new AbortController()
  const job = batcher.submit(image(1), controller.signal).catch(() => 'aborted')
  const idle = batcher.idle().then(() => 'idle')
  controller.abort()
  t.equal(await job, 'aborted')
  t.equal(await idle, 'idle')
  t.equal(runner.calls.length, 0)
})

t.test('queueMs counts the time spent waiting behind a running batch; inferenceMs the run', async (t) => {
  const slow: BackboneRunner = {
    run: async (pixels, batch, height, width) => {
      await sleep(20)
      return { data: new Float32Array(batch * 2).fill(pixels[0]), batch, tokens: 1, channels: 2 }
    }
  }
  const batcher = new Batcher(slow, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const outputs: TokenOutput[] = await Promise.all([batcher.submit(image(1)), batcher.submit(image(2))])
  t.ok(outputs[0].queueMs < 10, `the first ran at once (${outputs[0].queueMs} ms)`)
  t.ok(outputs[1].queueMs >= 18, `the second waited for the first (${outputs[1].queueMs} ms)`)
  for (const output of outputs) t.ok(output.inferenceMs >= 18 && output.inferenceMs < 1000, `inferenceMs ${output.inferenceMs}`)
  t.same(outputs.map((output) => output.batchSize), [1, 1])
})

t.test('submitAll queues one request\'s images together, so they share a batch even with batchWaitMs 0', async (t) => {
  const runner = new FakeRunner()
  const observer = recordingObserver()
  const batcher = new Batcher(runner, { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const inputs = [image(1), image(2), image(3, 4, 3), image(4)]
  const outputs = await Promise.all(batcher.submitAll(inputs))
  t.same(runner.calls.map(idsOf), [[1, 2], [3], [4]], 'split by maxBatchSize and by size, oldest first')
  t.same(observer.depths.slice(0, 2), [4, 2], 'the depth is reported once for the whole request, then after the take')
  t.same(Array.from(outputs[1].tokens), expectedTokens(inputs[1], 1, 0))
  t.same(Array.from(outputs[2].tokens), expectedTokens(inputs[2], 0, 1))
  t.same(Array.from(outputs[3].tokens), expectedTokens(inputs[3], 0, 2))
})

t.test('one abort rejects every queued image of a submitAll', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(1))
  const controller = new AbortController()
  const jobs = batcher.submitAll([image(2), image(3)], controller.signal).map(async (job) => await job.catch((e: unknown) => e))
  const other = batcher.submit(image(4))
  const reason = new ServiceError('deadline_exceeded', 'late')
  controller.abort(reason)
  t.equal(batcher.depth, 1)
  t.same(await Promise.all(jobs), [reason, reason])
  await runner.release()
  await runner.release()
  await Promise.all([first, other])
  t.same(runner.calls.map(idsOf), [[1], [4]])

  const early = batcher.submitAll([image(5), image(6)], AbortSignal.abort(reason))
  t.equal(early.length, 2)
  t.same(await Promise.all(early.map(async (job) => await job.catch((e: unknown) => e))), [reason, reason])
  t.equal(runner.calls.length, 2)
})

t.test('images announced with expect() are waited for, up to incomingWaitMs; nothing waits when none is announced', async (t) => {
  const runner = new FakeRunner()
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 200 })

  const alone = batcher.submit(image(1))
  t.equal(runner.calls.length, 1, 'no announced images: an idle model runs at once')
  await alone

  batcher.expect(2)
  const first = batcher.submit(image(2))
  t.equal(runner.calls.length, 1, 'two images are on their way: it holds the batch')
  await sleep(20)
  t.equal(runner.calls.length, 1, 'still holding')
  const rest = batcher.submitAll([image(3), image(4)], undefined, 2)
  await Promise.all([first, ...rest])
  t.equal(runner.calls.length, 2)
  t.same(idsOf(runner.calls[1]), [2, 3, 4], 'they joined one batch as soon as they arrived')

  batcher.expect(1)
  const waiting = batcher.submit(image(5))
  await sleep(10)
  t.equal(runner.calls.length, 2, 'waiting for the announced image')
  batcher.expect(-1)
  await waiting
  t.equal(runner.calls.length, 3, 'withdrawing the announcement (its decode failed) runs the batch at once')

  batcher.expect(1)
  const started = performance.now()
  await batcher.submit(image(6))
  const waited = performance.now() - started
  t.ok(waited >= 190 && waited < 1000, `an announced image that never comes delays the batch by incomingWaitMs at most (${waited.toFixed(0)} ms)`)
  batcher.expect(-1)
})

t.test('every batch, even of one image, runs on a tensor of its own: the runner may move it, the images keep theirs', async (t) => {
  const received: Float32Array[] = []
  const runner: BackboneRunner = {
    run: async (pixels, batch) => {
      received.push(pixels)
      return { data: new Float32Array(batch * 4), batch, tokens: 1, channels: 4 }
    }
  }
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const alone = image(1)
  await batcher.submit(alone)
  t.not(received[0], alone.pixels, 'a batch of one is a copy, not the image\'s own array')
  t.same(Array.from(received[0]), Array.from(alone.pixels))
  const pair = [image(2), image(3)]
  await Promise.all(batcher.submitAll(pair))
  t.same(Array.from(received[1]), [...pair[0].pixels, ...pair[1].pixels])
})

t.test('batches are sized by pixels (MAX_BATCH_TOKENS): large images run a few at a time, small ones many', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  // 2×3 images are 6 pixels: 13 pixels hold two of them, and one 4×4 image (16 pixels) runs alone all the same.
  const batcher = new Batcher(runner, { maxBatchSize: 8, maxBatchPixels: 13, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(0))
  const small = batcher.submitAll([1, 2, 3, 4, 5].map((id) => image(id)))
  const large = batcher.submit(image(6, 4, 4))
  for (let i = 0; i < 5; i++) await runner.release()
  await Promise.all([first, ...small, large])
  t.same(runner.calls.map(idsOf), [[0], [1, 2], [3, 4], [5], [6]], 'at most two small images per run; the large one alone')
  t.same(runner.calls.map((c) => c.batch * c.height * c.width <= 13 || c.batch === 1), [true, true, true, true, true])
})

t.test('a lone image handed over runs on its own tensor; in a batch it is copied as any other', async (t) => {
  const runs: Float32Array[] = []
  const runner: BackboneRunner = {
    run: async (pixels, batch) => {
      runs.push(pixels)
      return { data: new Float32Array(batch * 4), batch, tokens: 1, channels: 4 }
    }
  }
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  const alone = { ...image(1), handOver: true }
  await batcher.submit(alone)
  t.equal(runs[0], alone.pixels, 'no copy for a lone image handed over')
  const pair = [{ ...image(2), handOver: true }, image(3)]
  await Promise.all(batcher.submitAll(pair))
  t.not(runs[1], pair[0].pixels, 'a batch of two runs on a tensor of its own')
  t.equal(runs[1].length, 2 * pair[0].pixels.length)
})

t.test('with a tensor pool, handed-over pixels and batch tensors go back to it and are used again without mixing images', async (t) => {
  // A runner that, like the inference thread, gives the batch's buffer back once it has read it.
  const recycled: ArrayBuffer[] = []
  const inner = new FakeRunner()
  const runner: BackboneRunner = {
    run: async (pixels, batch, height, width, pool) => {
      const out = await inner.run(pixels, batch, height, width)
      recycled.push(pixels.buffer as ArrayBuffer)
      pool?.give(pixels.buffer as ArrayBuffer)
      return out
    }
  }
  const tensors = new TensorPool(1 << 20)
  const batcher = new Batcher(runner, { maxBatchSize: 8, batchWaitMs: 20, incomingWaitMs: 0, tensors })
  const handed = (id: number): PixelInput => ({ ...image(id), handOver: true })
  const kept = image(9)

  const first = [handed(1), handed(2), kept]
  const firstOwn = first.map((input) => input.pixels.buffer)
  const outputs = await Promise.all(batcher.submitAll(first))
  outputs.forEach((output, i) => t.same(Array.from(output.tokens), expectedTokens(first[i], i, 0), `image ${i} of the first batch`))
  t.equal(recycled.length, 1)
  // Back in the pool: the two handed-over images (copied into the batch) and the batch tensor; the kept image's
  // pixels stay with their owner.
  t.equal(tensors.held, 2 * 18 * 4 + 3 * 18 * 4)
  t.same(Array.from(kept.pixels), Array.from(image(9).pixels), 'pixels not handed over are untouched')

  // The next batch of three reuses the first batch's tensor: every value of it is rewritten.
  const second = [handed(4), handed(5), handed(6)]
  const again = await Promise.all(batcher.submitAll(second))
  t.equal(inner.calls[1].pixels.length, 3 * 18)
  t.equal(recycled[1], recycled[0], 'the same batch tensor, used again')
  again.forEach((output, i) => t.same(Array.from(output.tokens), expectedTokens({ ...image(4 + i) }, i, 1), `image ${i} of the second batch`))
  t.same(idsOf(inner.calls[1]), [4, 5, 6])
  t.notOk(firstOwn.includes(recycled[0]), 'a batch tensor is never an image\'s own buffer')

  // A lone handed-over image runs on its own buffer, which comes back.
  const lone = handed(7)
  const loneBuffer = lone.pixels.buffer
  const [alone] = await Promise.all(batcher.submitAll([lone]))
  t.same(Array.from(alone.tokens), expectedTokens(image(7), 0, 2))
  t.equal(recycled[2], loneBuffer)
})

t.test('a full batch is staged behind the running one at once; a partial one waits; never more than one staged', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(1))
  const partial = batcher.submit(image(2))
  t.equal(runner.calls.length, 1, 'one image is not a full batch: it waits for the run to end')
  const full = batcher.submit(image(3))
  t.same(runner.calls.map(idsOf), [[1], [2, 3]], 'two are: sent at once, behind the running batch')
  const more = [4, 5, 6].map((id) => batcher.submit(image(id)))
  t.equal(runner.calls.length, 2, 'a second full batch waits while one is staged')
  t.equal(batcher.depth, 3)

  await runner.release()
  t.same(runner.calls.map(idsOf), [[1], [2, 3], [4, 5]], 'the staged batch runs; the next full one is staged')
  await runner.release()
  t.same(runner.calls.map(idsOf), [[1], [2, 3], [4, 5]], 'image 6 alone is not staged')
  await runner.release()
  t.same(runner.calls.map(idsOf), [[1], [2, 3], [4, 5], [6]])
  await runner.release()
  const outputs = await Promise.all([first, partial, full, ...more])
  t.same(outputs.map((output) => output.batchSize), [1, 2, 2, 2, 2, 1])
  t.same(Array.from(outputs[2].tokens), expectedTokens(image(3), 1, 1))
  t.same(Array.from(outputs[4].tokens), expectedTokens(image(5), 1, 2))
  await batcher.idle()
})

t.test('a staged batch\'s run is timed from the moment the batch ahead of it came back, and its wait counts as queue', async (t) => {
  // As the inference thread does, this runner runs one batch at a time, in the order they came.
  let tail = Promise.resolve()
  const runs: Array<{ sent: number, started: number, ended: number }> = []
  const serial: BackboneRunner = {
    run: async (pixels, batch) => {
      const times = { sent: performance.now(), started: 0, ended: 0 }
      runs.push(times)
      const run = tail.then(async () => {
        times.started = performance.now()
        await sleep(40)
        times.ended = performance.now()
      })
      tail = run
      await run
      return { data: new Float32Array(batch * 2).fill(pixels[0]), batch, tokens: 1, channels: 2 }
    }
  }
  const observer = recordingObserver()
  const batcher = new Batcher(serial, { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const outputs = await Promise.all([1, 2, 3, 4, 5].map((id) => batcher.submit(image(id))))
  t.same(outputs.map((output) => output.batchSize), [1, 2, 2, 2, 2])
  t.same(observer.batches, [1, 2, 2])
  // Batches 1 and 2 were staged: sent while the one ahead ran, so the time since sending spans two runs.
  for (const [call, output] of [[1, outputs[1]], [2, outputs[3]]] as const) {
    const { sent, started, ended } = runs[call]
    const run = ended - started
    const sinceSent = ended - sent
    t.ok(Math.abs(output.inferenceMs - run) < Math.abs(output.inferenceMs - sinceSent),
      `batch ${call}: inferenceMs ${output.inferenceMs.toFixed(1)} is its run (${run.toFixed(1)}), not the time since it was sent (${sinceSent.toFixed(1)})`)
    t.ok(output.queueMs >= started - sent - 2, `batch ${call}: its wait behind the batch ahead is queue time (${output.queueMs.toFixed(1)} ms)`)
    t.equal(observer.seconds[call], output.inferenceMs / 1000, 'the observer hears the same run time')
  }
  t.ok(outputs[3].queueMs > outputs[1].queueMs, 'the batch staged next waited longer')
})

t.test('with two model instances, batches run on both at once; a full batch is staged behind the run that started first', async (t) => {
  const first = new FakeRunner()
  const second = new FakeRunner()
  first.hold = true
  second.hold = true
  const observer = recordingObserver()
  const batcher = new Batcher([first, second], { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 }, observer)
  const jobs = [batcher.submit(image(1)), batcher.submit(image(2))]
  t.same([first.calls.map(idsOf), second.calls.map(idsOf)], [[[1]], [[2]]], 'an idle instance takes what is queued at once')
  jobs.push(batcher.submit(image(3)), batcher.submit(image(4)))
  jobs.push(batcher.submit(image(5)), batcher.submit(image(6)))
  t.same([first.calls.map(idsOf), second.calls.map(idsOf)], [[[1], [3, 4]], [[2], [5, 6]]], 'full batches staged, one behind each')
  jobs.push(batcher.submit(image(7)))
  t.equal(batcher.depth, 1, 'a partial batch waits for an idle instance')

  let idle = false
  const idleNow = batcher.idle().then(() => { idle = true })
  await second.release()
  t.same(second.calls.length, 2, 'the second instance runs its staged batch; nothing more is staged')
  await first.release()
  await first.release()
  t.same(first.calls.map(idsOf), [[1], [3, 4], [7]], 'image 7 goes to the first instance to fall idle')
  await first.release()
  t.notOk(idle, 'idle() waits for every instance')
  await second.release()
  await idleNow
  const outputs = await Promise.all(jobs)
  t.same(outputs.map((output) => output.batchSize), [1, 1, 2, 2, 2, 2, 1])
  t.same(Array.from(outputs[5].tokens), expectedTokens(image(6), 1, 1), 'image 6: second of its batch, the second call of its instance')
  t.same(Array.from(outputs[6].tokens), expectedTokens(image(7), 0, 2))
  t.same(observer.batches.length, 5)
})

t.test('an abort after the job\'s batch was staged changes nothing: the batch was sent, and runs whole', async (t) => {
  const runner = new FakeRunner()
  runner.hold = true
  const batcher = new Batcher(runner, { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(1))
  const controller = new AbortController()
  const staged = [batcher.submit(image(2), controller.signal), batcher.submit(image(3))]
  t.equal(runner.calls.length, 2, 'staged')
  controller.abort(new ServiceError('deadline_exceeded', 'late'))
  await runner.release()
  await runner.release()
  await first
  const outputs = await Promise.all(staged)
  t.same(Array.from(outputs[0].tokens), expectedTokens(image(2), 0, 1))
  t.same(runner.calls.map(idsOf), [[1], [2, 3]])
})

t.test('idle instances take turns: each batch goes to the one idle longest', async (t) => {
  const runners = [new FakeRunner(), new FakeRunner(), new FakeRunner()]
  const batcher = new Batcher(runners, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  for (let id = 1; id <= 6; id++) await batcher.submit(image(id))
  t.same(runners.map((runner) => runner.calls.map(idsOf)), [[[1], [4]], [[2], [5]], [[3], [6]]])
})

t.test('instances idle at once share what is queued, rather than one taking it all and the others waiting', async (t) => {
  const runners = [new FakeRunner(), new FakeRunner()]
  for (const runner of runners) runner.hold = true
  const batcher = new Batcher(runners, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 1000 })
  // Eight clients answered together come back together: announced, then decoded one by one.
  batcher.expect(8)
  const jobs = Array.from({ length: 8 }, (_, i) => batcher.submitAll([image(i + 1)], undefined, 1)[0])
  t.same(runners.map((runner) => runner.calls.map(idsOf)), [[[1, 2, 3, 4]], [[5, 6, 7, 8]]], 'four each, not eight on one')
  // Five for three instances: two, two and one, the instance idle longest first.
  const three = [new FakeRunner(), new FakeRunner(), new FakeRunner()]
  const shared = new Batcher(three, { maxBatchSize: 8, batchWaitMs: 0, incomingWaitMs: 0 })
  await Promise.all(shared.submitAll([1, 2, 3, 4, 5].map((id) => image(id))))
  t.same(three.map((runner) => runner.calls.map(idsOf)), [[[1, 2]], [[3, 4]], [[5]]])
  for (const runner of runners) await runner.release()
  t.same((await Promise.all(jobs)).map((output) => output.batchSize), [4, 4, 4, 4, 4, 4, 4, 4])
})

t.test('a staged batch that fails before the run ahead of it ends leaves that run\'s timing alone', async (t) => {
  let releaseFirst = (): void => {}
  let calls = 0
  const runner: BackboneRunner = {
    run: async (pixels, batch) => {
      if (calls++ === 1) throw new Error('the staged batch failed')
      await new Promise<void>((resolve) => { releaseFirst = resolve })
      return { data: new Float32Array(batch * 2).fill(pixels[0]), batch, tokens: 1, channels: 2 }
    }
  }
  const batcher = new Batcher(runner, { maxBatchSize: 2, batchWaitMs: 0, incomingWaitMs: 0 })
  const first = batcher.submit(image(1))
  await sleep(40)
  const staged = [batcher.submit(image(2)), batcher.submit(image(3))]
  await t.rejects(staged[0], /the staged batch failed/)
  await t.rejects(staged[1], /the staged batch failed/)
  await sleep(10)
  releaseFirst()
  const output = await first
  t.ok(output.inferenceMs >= 45, `the first run is timed from its own send (${output.inferenceMs.toFixed(1)} ms), not from the failure`)
})
