import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import type { Ready, Request, Response, SessionDescription, SessionOptions, TensorData } from './protocol.js'

type Pending = { resolve: (value: unknown) => void, reject: (error: Error) => void }
type Ask = { kind: 'create', file: string, options: SessionOptions } | { kind: 'run', sessionId: number, feeds: Record<string, TensorData>, fetches: string[] } | { kind: 'release', sessionId: number }

/** The part of an ONNX Runtime session the service uses, wherever the session lives. */
export interface SessionLike {
  readonly inputNames: readonly string[]
  readonly outputNames: readonly string[]
  readonly inputMetadata: SessionDescription['inputMetadata']
  readonly outputMetadata: SessionDescription['outputMetadata']
  run: (feeds: Record<string, TensorData>, fetches: string[]) => Promise<Record<string, TensorData>>
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
    const worker = spawnWorker()
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
      run: async (feeds, fetches) => this.ask({ kind: 'run', sessionId, feeds, fetches }) as Promise<Record<string, TensorData>>,
      release: async () => { await this.ask({ kind: 'release', sessionId }) }
    }
  }

  async close (): Promise<void> {
    this.worker.removeAllListeners('exit')
    await this.worker.terminate()
  }

  private ask (request: Ask): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...request, id } satisfies Request)
    })
  }
}

/** Compiled, the worker is a .js file beside this one; from TypeScript sources (tests, tsx) it is loaded through tsx. */
function spawnWorker (): Worker {
  const compiled = new URL('./worker-main.js', import.meta.url)
  if (existsSync(compiled)) return new Worker(compiled)
  const source = new URL('./worker-main.ts', import.meta.url).href
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}) })`, { eval: true })
}
