import type { Worker } from 'node:worker_threads'
import { spawnWorker } from '../../src/inference/spawn-worker.js'
import { type BatchSweep, RawSession, sweepBatches } from './raw-session.js'

type Run = { images: number, seconds: number, latencies: number[] }
/** What raw-instance-worker.ts is asked. */
export type Ask = { kind: 'run', batch: number, seconds: number } | { kind: 'release' }

/**
 * The ceiling for a service of several inference instances: as many raw sessions, each on a thread of its own
 * (raw-instance-worker.ts), running the same batches side by side for the same time. One instance is a RawSession
 * in this process, as before. The CPU time of this process covers every thread.
 */
export class RawInstances {
  private constructor (private readonly alone: RawSession | undefined, private readonly workers: Worker[]) {}

  static async open (modelDir: string, options: { size: number, threads: number, spinning: boolean, instances: number }): Promise<RawInstances> {
    if (options.instances <= 1) return new RawInstances(await RawSession.open(modelDir, options), [])
    const workers = Array.from({ length: options.instances }, () =>
      spawnWorker(new URL('./raw-instance-worker', import.meta.url), { workerData: { modelDir, size: options.size, threads: options.threads, spinning: options.spinning } }))
    await Promise.all(workers.map(answer))
    return new RawInstances(undefined, workers)
  }

  /** Sessions that run at once, each with its own untimed first run of a batch. */
  get count (): number {
    return Math.max(1, this.workers.length)
  }

  /** Every instance runs `batch` for about `seconds` at once; images are summed, seconds the longest. */
  async run (batch: number, seconds: number): Promise<Run> {
    if (this.alone !== undefined) return await this.alone.run(batch, seconds)
    const runs = await Promise.all(this.workers.map(async (worker) => await ask<Run>(worker, { kind: 'run', batch, seconds })))
    return {
      images: runs.reduce((sum, run) => sum + run.images, 0),
      seconds: Math.max(...runs.map((run) => run.seconds)),
      latencies: runs.flatMap((run) => run.latencies)
    }
  }

  /** One instance alone (the others idle): the latency a lone request could have. */
  async runAlone (batch: number, seconds: number): Promise<Run> {
    if (this.alone !== undefined) return await this.alone.run(batch, seconds)
    return await ask<Run>(this.workers[0], { kind: 'run', batch, seconds })
  }

  /** Images per second at each batch size, every instance running, and the batch that does the most. */
  async sweep (batches: number[], seconds: number): Promise<BatchSweep> {
    return await sweepBatches(async (batch) => await this.run(batch, seconds), batches)
  }

  async release (): Promise<void> {
    await this.alone?.release()
    await Promise.all(this.workers.map(async (worker) => { await ask(worker, { kind: 'release' }); await worker.terminate() }))
  }
}

async function ask<T> (worker: Worker, request: Ask): Promise<T> {
  const answered = answer<T>(worker)
  worker.postMessage(request)
  return await answered
}

/** The worker's next message (its readiness, or the answer to a request), or its error. */
async function answer<T> (worker: Worker): Promise<T> {
  return await new Promise((resolve, reject) => {
    worker.once('message', (value: T) => {
      worker.off('error', reject)
      resolve(value)
    })
    worker.once('error', reject)
  })
}
