import type { Worker } from 'node:worker_threads'
import { spawnWorker } from '../spawn-worker.js'
import { movableBuffers } from './movable.js'
import type { Ready, Request, Response, RunWithFeeds, SessionDescription, SessionOptions, TensorData } from './protocol.js'

type Pending = { resolve: (value: unknown) => void, reject: (error: Error) => void }
type Ask =
  | { kind: 'create', file: string, options: SessionOptions }
  | { kind: 'run', sessionId: number, feeds: Record<string, TensorData>, fetches: string[], returnFeeds?: boolean, into?: Record<string, TensorData> }
  | { kind: 'release', sessionId: number }
  | { kind: 'close' }

/** How long a closing inference thread may take to release its sessions and end before it is stopped by force. */
const CLOSE_TIMEOUT_MS = 5000

export interface RunOptions {
  /**
   * The caller gives its feeds up: each one that spans its whole buffer moves to the inference thread without a copy
   * and is detached here. Without it, or for a view into a larger buffer, feeds are copied.
   */
  handOver?: boolean
  /** With handOver, the handed-over buffers come back after the run, to be used again. */
  recycle?: (buffer: ArrayBuffer) => void
  /**
   * Buffers to write outputs into, by output name, each with the exact dims and type the run will give: they move
   * to the inference thread and come back as the outputs, so that a run makes no output memory of its own.
   */
  into?: Record<string, TensorData>
}

/** The part of an ONNX Runtime session the service uses, wherever the session lives. */
export interface SessionLike {
  readonly inputNames: readonly string[]
  readonly outputNames: readonly string[]
  readonly inputMetadata: SessionDescription['inputMetadata']
  readonly outputMetadata: SessionDescription['outputMetadata']
  run: (feeds: Record<string, TensorData>, fetches: string[], options?: RunOptions) => Promise<Record<string, TensorData>>
  release: () => Promise<void>
}

/**
 * The main thread's handle on the inference thread: it creates sessions there and runs them one request at a
 * time (the worker's loop serialises them, so two runs never fight over the cores).
 */
export class OrtHost {
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private failure: Error | undefined

  private constructor (private readonly worker: Worker, readonly threadId: number) {
    worker.on('message', (response: Response) => {
      const pending = this.pending.get(response.id)
      if (pending === undefined) return
      this.pending.delete(response.id)
      if (response.ok) pending.resolve(response.value)
      else pending.reject(new Error(response.message))
    })
    const fail = (error: Error): void => {
      this.failure = error
      for (const pending of this.pending.values()) pending.reject(error)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the inference thread exited (code ${code})`)))
  }

  static async start (): Promise<OrtHost> {
    const worker = spawnWorker(new URL('./worker-main', import.meta.url))
    const threadId = await new Promise<number>((resolve, reject) => {
      worker.once('message', (message: Ready) => resolve(message.threadId))
      worker.once('error', reject)
    })
    return new OrtHost(worker, threadId)
  }

  /** False once the inference thread has died: nothing can run any more, and readiness must say so. */
  get healthy (): boolean {
    return this.failure === undefined
  }

  async createSession (file: string, options: SessionOptions): Promise<SessionLike> {
    const description = await this.ask({ kind: 'create', file, options }) as SessionDescription
    const { sessionId } = description
    return {
      inputNames: description.inputNames,
      outputNames: description.outputNames,
      inputMetadata: description.inputMetadata,
      outputMetadata: description.outputMetadata,
      run: async (feeds, fetches, { handOver = false, recycle, into } = {}) => {
        const moved = handOver ? movableBuffers(Object.values(feeds)) : []
        // A buffer listed twice makes postMessage throw.
        const transfer = into === undefined ? moved : [...new Set([...moved, ...movableBuffers(Object.values(into))])]
        if (recycle === undefined || moved.length === 0) {
          return this.ask({ kind: 'run', sessionId, feeds, fetches, into }, transfer) as Promise<Record<string, TensorData>>
        }
        const { outputs, feeds: returned } = await this.ask({ kind: 'run', sessionId, feeds, fetches, into, returnFeeds: true }, transfer) as RunWithFeeds
        returned.forEach(recycle)
        return outputs
      },
      release: async () => { await this.ask({ kind: 'release', sessionId }) }
    }
  }

  /**
   * Releases every session on the inference thread and lets the thread end by itself. Terminating it while
   * onnxruntime is inside native code (a release still in flight, say) can abort the whole process, so the
   * forced stop is kept for a thread that has died or does not answer. Says which of the two happened.
   */
  async close (): Promise<'ended' | 'stopped'> {
    this.worker.removeAllListeners('exit')
    const alive = this.failure === undefined
    this.failure = new Error('the inference thread is closed')
    const exited = new Promise<boolean>((resolve) => this.worker.once('exit', () => resolve(true)))
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS).unref())
    const closed = alive ? this.send({ kind: 'close' }).then(async () => exited, () => false) : Promise.resolve(false)
    if (await Promise.race([closed, timedOut])) return 'ended'
    await this.worker.terminate()
    return 'stopped'
  }

  private ask (request: Ask, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return this.send(request, transfer)
  }

  private send (request: Ask, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...request, id } satisfies Request, transfer)
    })
  }
}
