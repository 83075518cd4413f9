import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'
import type { Engine } from '../inference/engine.js'
import { StageTimes, type RequestContext, type Stage } from '../inference/stages.js'
import { answeredBeforeBody } from './client-errors.js'

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
  interface FastifyContextConfig {
    /**
     * The route's handler calls request.admit(): while admission would refuse, its requests are refused as they
     * arrive, before their bodies are read.
     */
    admits?: boolean
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
  enforceUploadTimeout(app.server, config.uploadTimeoutMs)
  let inFlight = 0
  app.decorateRequest('stageTimes', undefined)
  /** The model is ready, the event loop keeps up and a permit is free: otherwise 503 or 429, with Retry-After. */
  const requireAdmission = (): Engine => {
    const engine = app.modelHost.require()
    app.loopHealth.check()
    if (inFlight >= config.maxConcurrentRequests) {
      throw new ServiceError('overloaded',
        `the service is at its limit of ${config.maxConcurrentRequests} requests in flight; retry after the Retry-After delay`, 1)
    }
    return engine
  }
  // A request that admission would refuse now is refused as it arrives: reading, buffering and throwing away its
  // upload first cost the event loop nearly twice as much for a 3 MB image (BENCHMARKS.md, ninth round). No permit
  // is taken here, so a slow upload never holds one.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.admits === true) refuseBeforeBody(request, requireAdmission)
  })
  // A client that waits for "100 Continue" before its body hears it only once every onRequest check (this one, the
  // admin guard) has let its request through, just before the body is read.
  answerContinueInHooks(app.server)
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue()
    return payload
  })
  app.decorateRequest('admit', function (this: FastifyRequest, reply: FastifyReply, options: { tiled?: boolean } = {}): Admitted {
    const engine = requireAdmission()
    inFlight += 1
    app.metrics.inFlight.set(inFlight)
    const controller = new AbortController()
    const timeoutMs = options.tiled === true ? config.tiledRequestTimeoutMs : config.requestTimeoutMs
    const deadline = setTimeout(() => controller.abort(new ServiceError('deadline_exceeded',
      `the request took longer than its ${timeoutMs} ms deadline; send a smaller image or retry when the service is less busy`)), timeoutMs)
    // The permit comes back when the answer is done AND the work has stopped. An abort answers at once, but work
    // already under way (a decode, a batch of windows) only stops at its next check: returning the permit before
    // that would let a client that uploads and leaves, again and again, start work without bound.
    let answered = false
    let working = 0
    let released = false
    const releaseWhenDone = (): void => {
      if (released || !answered || working > 0) return
      released = true
      clearTimeout(deadline)
      inFlight -= 1
      app.metrics.inFlight.set(inFlight)
    }
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort(new ServiceError('client_closed', 'the client closed the connection'))
      answered = true
      releaseWhenDone()
    })
    const times = new StageTimes(app.metrics.observeStage)
    this.stageTimes = times
    const context: RequestContext = { signal: controller.signal, times, heldPixels: 0 }
    return {
      engine,
      context,
      run: (work) => {
        working += 1
        const running = work(engine, context)
        running.then(stopped, stopped)
        return raceAbort(running, controller.signal)
      }
    }
    function stopped (): void {
      working -= 1
      if (working === 0) engine.pixels.release(context)
      releaseWhenDone()
    }
  })

  app.addHook('onSend', async (request, reply) => {
    const times = request.stageTimes
    if (times !== undefined) {
      for (const [stage, header] of Object.entries(timingHeaders)) reply.header(header, times.ms[stage as Stage].toFixed(2))
    }
    reply.header('x-total-time', reply.elapsedTime.toFixed(2))
    // While shutting down every answer closes its connection: a client must not send its next request on a
    // connection that is about to go, and the listener can only finish closing once no connection is left.
    if (app.modelHost.state === 'closing') reply.header('connection', 'close')
  })
}, { name: 'request-control', dependencies: ['metrics', 'inference', 'loop-health'] })

/**
 * Node answers "100 Continue" by itself, before any hook has run, unless the server listens for checkContinue; with
 * this listener the request goes on as any other, and the onRequest hook answers it.
 */
function answerContinueInHooks (server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res))
}

/**
 * Runs `check`. When it refuses a request whose body is still to come, Node reads and drops that body after the
 * answer, to keep the connection; should the body never come, the upload timeout then closes the connection without
 * a second answer (client-errors.ts).
 */
function refuseBeforeBody (request: FastifyRequest, check: () => unknown): void {
  try {
    check()
  } catch (error) {
    const { raw } = request
    if (!raw.complete) {
      answeredBeforeBody.add(raw.socket)
      raw.once('end', () => answeredBeforeBody.delete(raw.socket))
    }
    throw error
  }
}

/**
 * UPLOAD_TIMEOUT_MS is Fastify's requestTimeout, which Fastify sets on the server after creating it. Two Node
 * details then defeat it: with headersTimeout (60 s by default) above requestTimeout, Node swaps the two, so a body
 * could trickle for a whole minute; and expired requests are looked for only every connectionsCheckingInterval
 * (30 s by default). Both are set here, before the server listens (the interval is read when it starts listening).
 */
function enforceUploadTimeout (server: Server, uploadTimeoutMs: number): void {
  server.headersTimeout = Math.min(server.headersTimeout, uploadTimeoutMs)
  const checking = server as Server & { connectionsCheckingInterval: number }
  checking.connectionsCheckingInterval = Math.min(checking.connectionsCheckingInterval, Math.max(50, Math.round(uploadTimeoutMs / 10)))
}

function raceAbort<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
