import type { Worker } from 'node:worker_threads'
import { spawnWorker } from '../spawn-worker.js'
import type { JobInput, JobName, JobOutput } from './jobs.js'
import { transferables } from './movable.js'
import type { JobRequest, JobResponse } from './protocol.js'

interface Waiting {
  request: JobRequest
  transfer: ArrayBuffer[]
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

/**
 * A few threads for the heavy post-processing of answers (resampling, argmax, colour maps, PCA, PNG and npy
 * encoding), so that the event loop only parses, admits and sends. Jobs queue when every thread is busy; their
 * typed arrays move to the thread and back without a copy (the caller gives its inputs up). A thread that dies
 * fails its job and is replaced.
 */
export class PostPool {
  private readonly idle: Worker[] = []
  private readonly busy = new Map<Worker, Waiting>()
  private readonly waiting: Waiting[] = []
  private nextId = 1
  private closed = false

  /** Resolves once every thread has loaded its modules (an engine is ready only after). */
  readonly started: Promise<void>

  /** `nice`: the priority its threads lower themselves to (0 leaves them at their creator's). */
  constructor (readonly size: number, private readonly nice = 0) {
    const loaded: Array<Promise<void>> = []
    for (let i = 0; i < size; i++) {
      const worker = this.spawn()
      this.idle.push(worker)
      loaded.push(new Promise((resolve, reject) => {
        worker.once('message', () => resolve())
        worker.once('error', reject)
      }))
    }
    this.started = Promise.all(loaded).then(() => {})
    this.started.catch(() => {})
  }

  /** Jobs waiting for a thread, and jobs running. */
  get pending (): number {
    return this.waiting.length + this.busy.size
  }

  /**
   * Runs a job on the next free thread. Its typed arrays that span their buffers move there; `giveUp` names more
   * buffers to move (those of views into a buffer the caller no longer needs, such as one batch's head output).
   */
  run<N extends JobName> (name: N, input: JobInput<N>, giveUp: ArrayBuffer[] = []): Promise<JobOutput<N>> {
    if (this.closed) return Promise.reject(new Error('the post-processing pool is closed'))
    return new Promise((resolve, reject) => {
      const transfer = [...new Set([...transferables(input), ...giveUp])]
      this.waiting.push({ request: { id: this.nextId++, name, input }, transfer, resolve: resolve as (value: unknown) => void, reject })
      this.dispatch()
    })
  }

  async close (): Promise<void> {
    this.closed = true
    for (const job of this.waiting.splice(0)) job.reject(new Error('the post-processing pool is closed'))
    const workers = [...this.idle.splice(0), ...this.busy.keys()]
    this.busy.clear()
    await Promise.all(workers.map(async (worker) => worker.terminate()))
  }

  private dispatch (): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.pop() as Worker
      const job = this.waiting.shift() as Waiting
      try {
        worker.postMessage(job.request, job.transfer)
      } catch (error) {
        // An input that cannot be sent (a value that cannot be cloned, a transfer list postMessage refuses): this
        // job fails, and the thread, which never got it, takes the next one.
        this.idle.push(worker)
        job.reject(error as Error)
        continue
      }
      this.busy.set(worker, job)
    }
  }

  private spawn (): Worker {
    const worker = spawnWorker(new URL('./worker-main', import.meta.url), { workerData: { nice: this.nice } })
    // Idle threads must not keep a process alive that has nothing else to do (tests, scripts).
    worker.unref()
    worker.on('message', (response: JobResponse | { ready: true }) => {
      if (!('id' in response)) return
      const job = this.busy.get(worker)
      if (job === undefined || job.request.id !== response.id) return
      this.busy.delete(worker)
      this.idle.push(worker)
      if (response.ok) job.resolve(response.value)
      else job.reject(new Error(response.message))
      this.dispatch()
    })
    let dead = false
    const died = (error: Error): void => {
      if (this.closed || dead) return
      dead = true
      const job = this.busy.get(worker)
      this.busy.delete(worker)
      const index = this.idle.indexOf(worker)
      if (index >= 0) this.idle.splice(index, 1)
      job?.reject(error)
      this.idle.push(this.spawn())
      this.dispatch()
    }
    worker.once('error', died)
    worker.once('exit', (code) => died(new Error(`a post-processing thread exited (code ${code})`)))
    return worker
  }
}
