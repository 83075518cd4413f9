import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'

/** How often the loop is sampled: a timer that should fire every TICK_MS, and how late it fires. */
const TICK_MS = 20
/** How long the service stays "lagging" after a late tick: one stall predicts the next few. */
const HOLD_MS = 1000

/**
 * Event-loop health as a signal, as @fastify/under-pressure has it: a timer measures how late the loop runs it
 * (every delay lands in the dinov3_event_loop_delay_seconds histogram), and while the loop lags beyond
 * MAX_EVENT_LOOP_DELAY_MS, and for a second after, readiness is false and new work is refused with 503 and
 * Retry-After. A stalled loop answers nothing, not even liveness; refusing new work is how it catches up.
 */
export class LoopHealth {
  private last = performance.now()
  private laggingUntil = 0
  private readonly timer: NodeJS.Timeout
  /** The last delay measured, in ms. */
  delayMs = 0

  constructor (private readonly thresholdMs: number, observe: (seconds: number) => void) {
    this.timer = setInterval(() => {
      const now = performance.now()
      this.delayMs = Math.max(0, now - this.last - TICK_MS)
      this.last = now
      observe(this.delayMs / 1000)
      if (this.thresholdMs > 0 && this.delayMs > this.thresholdMs) this.laggingUntil = now + HOLD_MS
    }, TICK_MS)
    this.timer.unref()
  }

  get lagging (): boolean {
    return performance.now() < this.laggingUntil
  }

  /** Throws 503 with Retry-After while the loop lags. */
  check (): void {
    if (!this.lagging) return
    throw new ServiceError('not_ready',
      `the event loop lagged ${Math.round(this.delayMs)} ms behind, over MAX_EVENT_LOOP_DELAY_MS=${this.thresholdMs}; retry after the Retry-After delay`, 1)
  }

  stop (): void {
    clearInterval(this.timer)
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    loopHealth: LoopHealth
  }
}

export default fp<{ config: Readonly<Config> }>(async (app, { config }) => {
  const health = new LoopHealth(config.maxEventLoopDelayMs, app.metrics.observeLoopDelay)
  app.decorate('loopHealth', health)
  app.addHook('onClose', async () => health.stop())
}, { name: 'loop-health', dependencies: ['metrics'] })
