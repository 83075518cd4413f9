import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client'
import { errorStatus, type ErrorCode } from '../errors.js'
import type { BatcherObserver } from '../inference/batcher.js'
import type { Stage } from '../inference/stages.js'

/** Geometric buckets from 1 ms to ~65 s: inference on CPU and tiled requests span that range. */
const secondsBuckets = exponentialBuckets(0.001, 2, 17)

export interface ModelLabels {
  name: string
  type: string
  variant: string
  provider: string
  synthetic: boolean
}

export class ServiceMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'dinov3_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry]
  })

  readonly requestDuration = new Histogram({
    name: 'dinov3_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: secondsBuckets,
    registers: [this.registry]
  })

  readonly stageDuration = new Histogram({
    name: 'dinov3_stage_duration_seconds',
    help: 'Time spent in each stage of a request: decode, preprocess, queue, inference, postprocess',
    labelNames: ['stage'] as const,
    buckets: secondsBuckets,
    registers: [this.registry]
  })

  readonly batchSize = new Histogram({
    name: 'dinov3_batch_size',
    help: 'Images per backbone run',
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
    registers: [this.registry]
  })

  readonly batchDuration = new Histogram({
    name: 'dinov3_backbone_run_duration_seconds',
    help: 'Wall time of one backbone run (one batch)',
    buckets: secondsBuckets,
    registers: [this.registry]
  })

  readonly queueDepth = new Gauge({
    name: 'dinov3_queue_depth',
    help: 'Images waiting for the backbone',
    registers: [this.registry]
  })

  readonly inFlight = new Gauge({
    name: 'dinov3_requests_in_flight',
    help: 'Admitted requests not yet answered (decoding, queued or running)',
    registers: [this.registry]
  })

  readonly failures = new Counter({
    name: 'dinov3_failures_total',
    help: 'Failed requests by error code',
    labelNames: ['code'] as const,
    registers: [this.registry]
  })

  readonly modelInfo = new Gauge({
    name: 'dinov3_model_info',
    help: 'The backbone being served (value 1); synthetic="true" means random weights',
    labelNames: ['name', 'type', 'variant', 'provider', 'synthetic'] as const,
    registers: [this.registry]
  })

  readonly ready = new Gauge({
    name: 'dinov3_ready',
    help: '1 once the model is loaded and warmed up, 0 before and while shutting down',
    registers: [this.registry]
  })

  readonly queuedPixels = new Gauge({
    name: 'dinov3_held_pixels',
    help: 'Model-input pixels of decoded images held by admitted requests, against MAX_QUEUED_PIXELS',
    registers: [this.registry]
  })

  readonly eventLoopDelay = new Histogram({
    name: 'dinov3_event_loop_delay_seconds',
    help: 'How late the event loop ran a timer due every 20 ms: the wait any request (liveness included) had then',
    buckets: exponentialBuckets(0.001, 2, 15),
    registers: [this.registry]
  })

  constructor () {
    // prom-client samples the loop every 10 ms for nodejs_eventloop_lag_*, its default, kept: Node's
    // monitorEventLoopDelay records each whole interval between samples, so a coarser one would raise every value of
    // those metrics by the difference (BENCHMARKS.md, eighth round).
    collectDefaultMetrics({ register: this.registry })
    // Gauges named like counters, which promtool's lint rejects; sum(nodejs_active_handles) and the like, by type,
    // carry the same totals.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name)
    }
    // Every failure code shows as 0 from the start, so that rate() works before the first failure.
    for (const code of Object.keys(errorStatus) as ErrorCode[]) this.failures.inc({ code }, 0)
  }

  observeLoopDelay = (seconds: number): void => {
    this.eventLoopDelay.observe(seconds)
  }

  observeStage = (stage: Stage, seconds: number): void => {
    this.stageDuration.observe({ stage }, seconds)
  }

  readonly batcherObserver: BatcherObserver = {
    queueDepth: (depth) => this.queueDepth.set(depth),
    batchRan: (size, seconds) => {
      this.batchSize.observe(size)
      this.batchDuration.observe(seconds)
    },
    pixelsHeld: (pixels) => this.queuedPixels.set(pixels)
  }

  setModel (labels: ModelLabels): void {
    this.modelInfo.reset()
    this.modelInfo.set({ ...labels, synthetic: String(labels.synthetic) }, 1)
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics
  }
}

/** One registry per app (never the global one), so that apps built side by side in tests do not share counters. */
export default fp(async (app) => {
  const metrics = new ServiceMetrics()
  app.decorate('metrics', metrics)
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode)
    }
    metrics.requests.inc(labels)
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000)
  })
}, { name: 'metrics' })
