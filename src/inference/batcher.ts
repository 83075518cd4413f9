import { ServiceError } from '../errors.js'
import { BatchSizer } from './batch-sizer.js'
import type { BufferPool, HiddenStates } from './backbone.js'
import { joinFloat32 } from './join.js'
import { movableBuffer } from './ort-worker/movable.js'
import type { TensorPool } from './tensor-pool.js'

/** Normalised pixels of one image, [3, height, width], height and width multiples of the patch. */
export interface PixelInput {
  pixels: Float32Array
  height: number
  width: number
  /**
   * The caller gives the pixels up: a batch of this image alone runs on them as they are (moved to the inference
   * thread, detached here) instead of a copy. For embeddings, which never read their pixels again.
   */
  handOver?: boolean
}

/** One image's `last_hidden_state` rows, [tokens, channels], a view into its batch's output. */
export interface TokenOutput {
  tokens: Float32Array
  tokenCount: number
  channels: number
  queueMs: number
  inferenceMs: number
  /** When its batch's run started (performance.now()): with several instances, one request's batches may overlap. */
  startedAt: number
  batchSize: number
  /**
   * The caller is done with `tokens` and never reads them again: once every image of the batch has said so, the
   * batch's output memory is used again. Callers that keep their tokens do not call it; the collector takes them.
   */
  release?: () => void
}

export interface BackboneRunner {
  /** With `pool`, the pixels' buffer goes back to it once the run no longer needs it, and the output may come from it. */
  run: (pixels: Float32Array, batch: number, height: number, width: number, pool?: BufferPool) => Promise<HiddenStates>
}

/** Where the batcher reports, so that the core stays free of any metrics library. */
export interface BatcherObserver {
  queueDepth: (depth: number) => void
  batchRan: (size: number, seconds: number) => void
  /** Model-input pixels of decoded images held by requests (the engine's budget, reported the same way). */
  pixelsHeld?: (pixels: number) => void
}

export interface BatcherOptions {
  maxBatchSize: number
  /**
   * Model-input pixels per batch (MAX_BATCH_TOKENS · patch²): a batch is sized by its work, as TEI sizes batches by
   * tokens, so that large images run a few at a time and small ones many. One image alone always runs.
   */
  maxBatchPixels?: number
  /** How long the oldest waiting image may wait for companions while the model is idle. */
  batchWaitMs: number
  /**
   * How long it may wait for images already admitted and still being decoded (see expect()). Nothing waits when
   * none is on its way, so a lone request is never delayed.
   */
  incomingWaitMs: number
  /** Where batch tensors come from, and where handed-over images' pixels go back once copied or run. */
  tensors?: TensorPool
  /** Batches take as many images as has been fastest per image, up to maxBatchSize (batch-sizer.ts); false: always up to it. */
  adaptiveBatchSize?: boolean
}

/** One model instance and what the batcher has sent it. */
interface Lane {
  runner: BackboneRunner
  /** When each batch sent and not yet settled was sent, oldest first: the running one, at most one staged behind. */
  sent: Array<{ at: number }>
  /** When its oldest batch last settled: the batch behind it started then. */
  lastSettledAt: number
}

/** When the lane's running batch started (its send, or the end of the batch before it). */
const runningSince = (lane: Lane): number => Math.max(lane.sent[0]?.at ?? 0, lane.lastSettledAt)

interface Job {
  input: PixelInput
  key: string
  /** The jobs submitted together; the last of them to leave the queue stops listening for their abort. */
  group: Job[]
  enqueuedAt: number
  resolve: (output: TokenOutput) => void
  reject: (error: unknown) => void
}

/**
 * Runs images of the same input size as one batch, one batch at a time on each model instance (runner): while the
 * instances work, requests gather, and the next batch takes them all (up to the maximum; instances idle at once share
 * them). Work whose request was
 * aborted (client gone, deadline passed) leaves the queue at once and never reaches the model; once its batch has
 * been sent (running, or staged behind a run), it runs with it.
 *
 * A full batch does not wait for a running one to come back: it is sent at once, staged behind it, and the
 * inference thread (which runs one request at a time) starts it the moment the first ends, without waiting for this
 * thread to take the answers and send the next. At most one batch is staged per instance, behind the one that
 * started first; a partial batch still waits for an idle instance, to gather.
 */
export class Batcher {
  private queue: Job[] = []
  private readonly lanes: Lane[]
  private timer: NodeJS.Timeout | undefined
  private idleWaiters: Array<() => void> = []
  private readonly groupsListening = new Map<Job[], () => void>()
  /** Images admitted and being decoded: companions worth a short wait. */
  private expected = 0
  private readonly sizer: BatchSizer | undefined

  constructor (
    runners: BackboneRunner | readonly BackboneRunner[],
    private readonly options: BatcherOptions,
    private readonly observer?: BatcherObserver
  ) {
    this.sizer = options.adaptiveBatchSize === true ? new BatchSizer(options.maxBatchSize) : undefined
    this.lanes = (Array.isArray(runners) ? runners : [runners]).map((runner) => ({ runner, sent: [], lastSettledAt: 0 }))
  }

  private get maxBatchPixels (): number {
    return this.options.maxBatchPixels ?? Infinity
  }

  get depth (): number {
    return this.queue.length
  }

  /** Announces (positive) or withdraws (negative) images that are being prepared and will be submitted soon. */
  expect (images: number): void {
    this.expected = Math.max(0, this.expected + images)
    if (images < 0) this.schedule()
  }

  submit (input: PixelInput, signal?: AbortSignal): Promise<TokenOutput> {
    return this.submitAll([input], signal)[0]
  }

  /**
   * Enqueues several images at once, so that one request's images can share a batch. One abort listener serves
   * the whole group (a tiled request submits hundreds of windows on one signal). `announced` counts the images
   * among them that were announced with expect().
   */
  submitAll (inputs: PixelInput[], signal?: AbortSignal, announced = 0): Array<Promise<TokenOutput>> {
    // The images announced with expect() have arrived (or will never come, if aborted).
    this.expected = Math.max(0, this.expected - announced)
    if (signal?.aborted === true) {
      this.schedule()
      return inputs.map(async () => { throw abortError(signal) })
    }
    const group: Job[] = []
    const results = inputs.map((input) => new Promise<TokenOutput>((resolve, reject) => {
      const job: Job = { input, key: `${input.height}x${input.width}`, group, enqueuedAt: performance.now(), resolve, reject }
      group.push(job)
      this.queue.push(job)
    }))
    if (signal !== undefined) {
      const onAbort = (): void => {
        for (const job of group) {
          if (this.remove(job)) job.reject(abortError(signal))
        }
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.groupsListening.set(group, () => signal.removeEventListener('abort', onAbort))
    }
    this.observer?.queueDepth(this.queue.length)
    this.schedule()
    return results
  }

  /** Resolves once nothing is queued or running (for a graceful shutdown). */
  idle (): Promise<void> {
    if (this.idleNow) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Takes a job out of the queue; false when it had already left (dispatched or removed). */
  private remove (job: Job): boolean {
    const index = this.queue.indexOf(job)
    if (index < 0) return false
    this.queue.splice(index, 1)
    this.leftQueue(job)
    this.observer?.queueDepth(this.queue.length)
    this.notifyIfIdle()
    return true
  }

  private leftQueue (job: Job): void {
    if (job.group.some((member) => member !== job && this.queue.includes(member))) return
    this.groupsListening.get(job.group)?.()
    this.groupsListening.delete(job.group)
  }

  private schedule (): void {
    while (this.queue.length > 0) {
      const oldest = this.queue[0]
      const companions = this.queue.filter((job) => job.key === oldest.key).length
      const cap = this.sizer?.cap(oldest.key) ?? this.options.maxBatchSize
      const full = companions >= cap || companions * pixelsOf(oldest) >= this.maxBatchPixels
      // Idle instances, the one that has waited longest first: instances take turns (the first also runs the heads).
      const idle = this.lanes.filter((lane) => lane.sent.length === 0).sort((a, b) => a.lastSettledAt - b.lastSettledAt)
      if (idle.length === 0) {
        // Every instance is running: a full batch is staged behind the run that started first.
        const behind = full ? this.lanes.filter((lane) => lane.sent.length === 1).sort((a, b) => runningSince(a) - runningSince(b))[0] : undefined
        if (behind === undefined) return
        void this.runBatch(behind, this.take(oldest.key, cap))
        continue
      }
      const waited = performance.now() - oldest.enqueuedAt
      const wait = Math.max(this.options.batchWaitMs, this.expected > 0 ? this.options.incomingWaitMs : 0)
      if (!full && waited < wait) {
        if (this.timer === undefined) {
          this.timer = setTimeout(() => {
            this.timer = undefined
            this.schedule()
          }, wait - waited)
        }
        return
      }
      if (this.timer !== undefined) {
        clearTimeout(this.timer)
        this.timer = undefined
      }
      // Each idle instance takes its share: one batch taking all that is queued would leave the others idle while it
      // runs, and batches then stay that large (clients answered together come back together).
      for (const [i, lane] of idle.entries()) {
        const left = this.queue.filter((job) => job.key === oldest.key).length
        if (left === 0) break
        void this.runBatch(lane, this.take(oldest.key, Math.min(cap, Math.ceil(left / (idle.length - i)))))
      }
    }
  }

  private take (key: string, cap: number): Job[] {
    const batch: Job[] = []
    let pixels = 0
    this.queue = this.queue.filter((job) => {
      if (job.key !== key || batch.length >= cap) return true
      if (batch.length > 0 && pixels + pixelsOf(job) > this.maxBatchPixels) return true
      pixels += pixelsOf(job)
      batch.push(job)
      return false
    })
    for (const job of batch) this.leftQueue(job)
    this.observer?.queueDepth(this.queue.length)
    return batch
  }

  private async runBatch (lane: Lane, batch: Job[]): Promise<void> {
    const sent = { at: performance.now() }
    lane.sent.push(sent)
    const { height, width } = batch[0].input
    try {
      // A tensor for the run, even for one image (unless handed over): the runner hands its buffer over to the
      // inference thread, and each image keeps its own pixels (heads that take pixels read them afterwards).
      const lone = batch.length === 1 && batch[0].input.handOver === true
      const tensors = this.options.tensors
      const pixels = lone
        ? batch[0].input.pixels
        : joinFloat32(batch.map((job) => job.input.pixels), 3 * height * width, tensors?.take(batch.length * 3 * height * width))
      if (!lone && tensors !== undefined) {
        // Copied into the batch: pixels handed over are free again (an image's own buffer only, never a view).
        for (const job of batch) {
          const own = job.input.handOver === true ? movableBuffer(job.input.pixels) : undefined
          if (own !== undefined) tensors.give(own)
        }
      }
      const hidden = await lane.runner.run(pixels, batch.length, height, width, tensors)
      const settled = performance.now()
      const started = this.settle(lane, sent, settled)
      const inferenceMs = settled - started
      this.observer?.batchRan(batch.length, inferenceMs / 1000)
      this.sizer?.ran(batch[0].key, batch.length, inferenceMs)
      const stride = hidden.tokens * hidden.channels
      const output = movableBuffer(hidden.data)
      const releases = releasedTogether(batch.length, () => { if (output !== undefined) tensors?.give(output) })
      batch.forEach((job, i) => job.resolve({
        tokens: hidden.data.subarray(i * stride, (i + 1) * stride),
        tokenCount: hidden.tokens,
        channels: hidden.channels,
        queueMs: started - job.enqueuedAt,
        inferenceMs,
        startedAt: started,
        batchSize: batch.length,
        release: releases[i]
      }))
    } catch (error) {
      if (lane.sent.includes(sent)) this.settle(lane, sent, performance.now())
      for (const job of batch) job.reject(error)
    } finally {
      this.schedule()
      this.notifyIfIdle()
    }
  }

  /**
   * Takes a settled batch off its lane; returns when it started. A staged batch started when the one ahead of it
   * settled; one that settles out of turn (a failure before the batch ahead ended) counts from its send and leaves
   * the lane's clock alone.
   */
  private settle (lane: Lane, sent: { at: number }, settled: number): number {
    const oldest = lane.sent[0] === sent
    lane.sent.splice(lane.sent.indexOf(sent), 1)
    if (!oldest) return sent.at
    const started = Math.max(sent.at, lane.lastSettledAt)
    lane.lastSettledAt = settled
    return started
  }

  private get idleNow (): boolean {
    return this.queue.length === 0 && this.lanes.every((lane) => lane.sent.length === 0)
  }

  private notifyIfIdle (): void {
    if (!this.idleNow) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}

const pixelsOf = (job: Job): number => job.input.height * job.input.width

/** One release for each of `count` holders, each counted once; `done` runs when all of them have been called. */
function releasedTogether (count: number, done: () => void): Array<() => void> {
  let left = count
  return Array.from({ length: count }, () => {
    let released = false
    return () => {
      if (released) return
      released = true
      left -= 1
      if (left === 0) done()
    }
  })
}

function abortError (signal: AbortSignal): unknown {
  return signal.reason instanceof ServiceError
    ? signal.reason
    : new ServiceError('client_closed', 'the request was cancelled before it reached the model')
}
