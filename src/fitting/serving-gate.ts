import type { Engine } from '../inference/engine.js'

/** How long the batcher must have been idle before a fit image goes in: longer than a client's gap between requests. */
export const QUIET_MS = 25
/**
 * Under continuous load a fit image still goes in after this long, or after twice the last fit pass if longer: the
 * fit gets at most a third of the backbone's time, so most requests never meet one, and a busy server still finishes.
 */
export const MAX_DEFER_MS = 1000
const SERVING_SHARE = 2
/** Images per trip while serving is quiet; one at a time within RECENT_MS of a request. */
export const EXTRACTION_CHUNK = 4
const RECENT_MS = 2000

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** True when nothing is queued or running on the batcher at this moment. */
async function idleNow (engine: Engine): Promise<boolean> {
  return Promise.race([engine.batcher.idle().then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))])
}

/**
 * Serving first: the fit's images share the serving batcher, but are only submitted once it has been idle for
 * QUIET_MS, so a request never queues behind more than the one fit image that went in during a lull (or, under
 * continuous load, one image per MAX_DEFER_MS).
 */
export class ServingGate {
  private lastBusy = -Infinity
  private lastPassMs = 0

  constructor (private readonly engine: Engine) {}

  /** Waits for a lull; returns how many images may go in now. */
  async lull (signal?: AbortSignal): Promise<number> {
    const started = performance.now()
    const defer = Math.max(MAX_DEFER_MS, SERVING_SHARE * this.lastPassMs)
    for (;;) {
      signal?.throwIfAborted()
      const left = defer - (performance.now() - started)
      if (left <= 0) break
      if (!(await idleNow(this.engine))) {
        this.lastBusy = performance.now()
        await Promise.race([this.engine.batcher.idle(), sleep(left)])
        continue
      }
      await sleep(Math.min(QUIET_MS, left))
      if (await idleNow(this.engine)) {
        if (this.engine.batcher.depth === 0) break
      }
      this.lastBusy = performance.now()
    }
    return performance.now() - this.lastBusy < RECENT_MS ? 1 : EXTRACTION_CHUNK
  }

  /** How long the images let in took on the backbone, per image: the next forced turn waits twice that. */
  ran (ms: number, images: number): void {
    this.lastPassMs = ms / Math.max(1, images)
  }
}
