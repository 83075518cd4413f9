import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'
import type { Engine } from '../inference/engine.js'
import { StageTimes, type RequestContext, type Stage } from '../inference/stages.js'

/** An admitted request: it holds a permit until its answer is sent or its client leaves. */
export interface Admitted {
  engine: Engine
  context: RequestContext
  /** Runs the work, answering 504 at the deadline and dropping it when the client leaves. */
  run: <T>(work: (engine: Engine, context: RequestContext) => Promise<T>) => Promise<T>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Takes a permit (429 when none is left, 503 while not ready) and starts the deadline. */
    admit: (reply: FastifyReply, options?: { tiled?: boolean }) => Admitted
    stageTimes: StageTimes | undefined
  }
}

const timingHeaders: Record<Stage, string> = {
  decode: 'x-decode-time',
  preprocess: 'x-preprocess-time',
  queue: 'x-queue-time',
  inference: 'x-inference-time',
  postprocess: 'x-postprocess-time'
}

/**
 * Back-pressure and cancellation in one place: a bounded number of requests in flight, refused early beyond it;
 * a deadline per request; and an abort signal that fires when the client goes away, so that queued work for it
 * never reaches the model.
 */
export default fp<{ config: Readonly<Config> }>(async (app, { config }) => {
  let inFlight = 0
  app.decorateRequest('stageTimes', undefined)
  app.decorateRequest('admit', function (this: FastifyRequest, reply: FastifyReply, options: { tiled?: boolean } = {}): Admitted {
    const engine = app.modelHost.require()
    if (inFlight >= config.maxConcurrentRequests) {
      throw new ServiceError('overloaded',
        `the service is at its limit of ${config.maxConcurrentRequests} requests in flight; retry after the Retry-After delay`, 1)
    }
    inFlight += 1
    app.metrics.inFlight.set(inFlight)
    const controller = new AbortController()
    const timeoutMs = options.tiled === true ? config.tiledRequestTimeoutMs : config.requestTimeoutMs
    const deadline = setTimeout(() => controller.abort(new ServiceError('deadline_exceeded',
      `the request took longer than its ${timeoutMs} ms deadline; send a smaller image or retry when the service is less busy`)), timeoutMs)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      clearTimeout(deadline)
      inFlight -= 1
      app.metrics.inFlight.set(inFlight)
    }
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort(new ServiceError('client_closed', 'the client closed the connection'))
      release()
    })
    const times = new StageTimes(app.metrics.observeStage)
    this.stageTimes = times
    const context: RequestContext = { signal: controller.signal, times }
    return {
      engine,
      context,
      run: (work) => raceAbort(work(engine, context), controller.signal)
    }
  })

  app.addHook('onSend', async (request, reply) => {
    const times = request.stageTimes
    if (times !== undefined) {
      for (const [stage, header] of Object.entries(timingHeaders)) reply.header(header, times.ms[stage as Stage].toFixed(2))
    }
    reply.header('x-total-time', reply.elapsedTime.toFixed(2))
  })
}, { name: 'request-control', dependencies: ['metrics', 'inference'] })

function raceAbort<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
