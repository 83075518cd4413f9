import { ServiceError } from '../../errors.js'
import type { Log } from '../log.js'

export type JobState = 'queued' | 'extracting' | 'training' | 'done' | 'failed'

/** What the trainer reports while it works (the shape of the fitting core's progress). */
export interface JobProgress {
  state: Exclude<JobState, 'queued'>
  progress: number
  epoch?: number
  epochs?: number
  loss?: number
}

/** A job as GET /heads/{name}/job shows it. */
export interface JobView {
  name: string
  task: string
  state: JobState
  progress: number
  epoch?: number
  epochs?: number
  loss?: number
  metrics: Record<string, number>
  error?: string
  /** Jobs ahead of this one (queued jobs only). */
  position?: number
  created_at: string
  started_at?: string
  finished_at?: string
}

/** The work of one job: fit, write and serve the head; it resolves with the held-out metrics once the head is served. */
export type JobWork = (signal: AbortSignal, onProgress: (progress: JobProgress) => void) => Promise<Record<string, number>>

interface Job {
  view: JobView
  /** Dropped once started or cancelled: it holds the whole upload, which a finished job must not keep alive. */
  work: JobWork | undefined
  controller: AbortController
  started?: number
  /** Settles when the work has stopped (after a cancel it may still be unwinding). */
  stopped?: Promise<void>
}

/** Finished jobs kept for GET …/job (the oldest beyond this are forgotten). */
const KEPT_FINISHED = 256

/**
 * The fitting queue: one job runs at a time (features come from the serving batcher and training takes cores that
 * serving also needs, so two fits would only slow each other and serving), up to `queueSize` wait behind it, and
 * beyond that a job is refused with 429. No HTTP here: the route turns a request into a JobWork.
 */
export class FitJobs {
  private readonly jobs = new Map<string, Job>()
  private readonly waiting: Job[] = []
  private running: Job | undefined
  private closed = false

  constructor (private readonly queueSize: number, private readonly log: Log) {}

  /** Queued or running under this name: the name is taken until the job ends. */
  busy (name: string): boolean {
    const job = this.jobs.get(name)
    return job !== undefined && !finished(job.view.state)
  }

  view (name: string): JobView | undefined {
    const job = this.jobs.get(name)
    if (job === undefined) return undefined
    if (job.view.state === 'queued') job.view.position = this.waiting.indexOf(job) + (this.running === undefined ? 0 : 1)
    return { ...job.view, metrics: { ...job.view.metrics } }
  }

  /** Accepts a job (a finished job of the same name is replaced), or refuses it: 409 while the name is busy, 429 when full. */
  submit (name: string, task: string, work: JobWork): JobView {
    if (this.closed) throw new ServiceError('shutting_down', 'the service is shutting down; fit on another replica', 5)
    if (this.busy(name)) throw new ServiceError('name_in_use', `a fitting job for "${name}" is already ${this.jobs.get(name)?.view.state}; wait for it or DELETE /heads/${name} to cancel it`)
    this.refuseWhenFull()
    const job: Job = {
      view: { name, task, state: 'queued', progress: 0, metrics: {}, created_at: new Date().toISOString() },
      work,
      controller: new AbortController()
    }
    this.jobs.delete(name)
    this.jobs.set(name, job)
    this.forgetOldest()
    this.waiting.push(job)
    this.next()
    return this.view(name) as JobView
  }

  /** 429 when a job runs and FIT_QUEUE_SIZE more wait, with a Retry-After from the running job's pace. */
  refuseWhenFull (): void {
    if (this.running !== undefined && this.waiting.length >= this.queueSize) {
      throw new ServiceError('overloaded', `a head is being fitted and ${this.waiting.length} more wait (FIT_QUEUE_SIZE=${this.queueSize}); retry after the Retry-After delay`,
        this.retryAfterSeconds())
    }
  }

  /** Cancels a queued or running job (its work sees the abort); false when there is none under this name. */
  cancel (name: string, reason = 'cancelled by DELETE /heads/' + name): boolean {
    const job = this.jobs.get(name)
    if (job === undefined || finished(job.view.state)) return false
    job.controller.abort(new ServiceError('client_closed', reason))
    const queued = this.waiting.indexOf(job)
    if (queued >= 0) {
      this.waiting.splice(queued, 1)
      job.work = undefined
      this.finish(job, 'failed', reason)
    }
    return true
  }

  /** Drops what is known of a finished job, so that GET …/job answers 404 (after its head was deleted). */
  forget (name: string): void {
    const job = this.jobs.get(name)
    if (job !== undefined && finished(job.view.state)) this.jobs.delete(name)
  }

  /** Waits until the running job (if any) has stopped: the work may still be writing its folder after a cancel. */
  async settled (name: string): Promise<void> {
    await this.jobs.get(name)?.stopped
  }

  /** Cancels everything and waits for the running job to stop. */
  async close (): Promise<void> {
    this.closed = true
    for (const job of [...this.waiting]) this.cancel(job.view.name, 'the service shut down')
    const running = this.running
    if (running !== undefined) {
      this.cancel(running.view.name, 'the service shut down')
      await running.stopped
    }
  }

  private next (): void {
    if (this.running !== undefined || this.closed) return
    const job = this.waiting.shift()
    if (job === undefined) return
    this.running = job
    job.started = performance.now()
    job.view.started_at = new Date().toISOString()
    job.view.state = 'extracting'
    delete job.view.position
    this.log.info({ head: job.view.name, task: job.view.task }, 'fitting job started')
    const onProgress = (progress: JobProgress): void => {
      // The trainer says done when the head is written; the job is done only once the head is served.
      if (job.controller.signal.aborted || finished(progress.state)) return
      Object.assign(job.view, progress)
    }
    const work = job.work as JobWork
    job.work = undefined
    job.stopped = work(job.controller.signal, onProgress).then((metrics) => {
      job.view.metrics = metrics
      job.view.progress = 1
      this.finish(job, 'done')
    }, (error: unknown) => {
      const reason = job.controller.signal.aborted ? (job.controller.signal.reason as Error).message : describeFailure(error)
      if (!(error instanceof ServiceError) && !job.controller.signal.aborted) this.log.error({ err: error, head: job.view.name }, 'fitting job failed')
      this.finish(job, 'failed', reason)
    }).finally(() => {
      this.running = undefined
      this.next()
    })
  }

  private finish (job: Job, state: 'done' | 'failed', error?: string): void {
    job.view.state = state
    job.view.finished_at = new Date().toISOString()
    if (error !== undefined) job.view.error = error
    delete job.view.position
    const seconds = job.started === undefined ? 0 : (performance.now() - job.started) / 1000
    this.log.info({ head: job.view.name, state, error, seconds: Math.round(seconds * 10) / 10, metrics: job.view.metrics }, 'fitting job ended')
  }

  /** The running job's remaining time as its progress so far predicts it, plus one job's worth per waiting job. */
  private retryAfterSeconds (): number {
    const job = this.running
    if (job?.started === undefined) return 5
    const elapsed = (performance.now() - job.started) / 1000
    const progress = Math.max(job.view.progress, 0.01)
    const remaining = elapsed * (1 - progress) / progress
    return Math.round(Math.min(3600, Math.max(5, remaining + this.waiting.length * elapsed / progress)))
  }

  private forgetOldest (): void {
    const done = [...this.jobs.values()].filter((job) => finished(job.view.state))
    for (const job of done.slice(0, Math.max(0, done.length - KEPT_FINISHED))) this.jobs.delete(job.view.name)
  }
}

const finished = (state: JobState): boolean => state === 'done' || state === 'failed'

/** A client's mistake keeps its message; anything else is logged and shown without internals. */
function describeFailure (error: unknown): string {
  if (error instanceof ServiceError && error.code !== 'internal') return error.message
  return 'the fit failed unexpectedly; the service log has the details under this head\'s name'
}
