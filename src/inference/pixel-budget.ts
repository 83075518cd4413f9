import { ServiceError } from '../errors.js'

/**
 * Decoded images held by admitted requests, counted in model-input pixels against a limit: memory follows the work
 * held, not the number of requests. An image that would pass the limit is refused (429 with Retry-After), never
 * queued; one image alone is always taken, however large, so that no valid request is refused on an idle service.
 */
export class PixelBudget {
  private used = 0

  constructor (readonly limit: number, private readonly observe?: (pixels: number) => void) {}

  get held (): number {
    return this.used
  }

  /** Takes `pixels` for a request (added to its `held`), or throws `overloaded`. */
  take (pixels: number, holder: { heldPixels: number }): void {
    if (this.used > 0 && this.used + pixels > this.limit) {
      throw new ServiceError('overloaded',
        `the service holds ${(this.used / 1e6).toFixed(1)} of its ${(this.limit / 1e6).toFixed(1)} megapixels of decoded images (MAX_QUEUED_PIXELS); retry after the Retry-After delay`, 1)
    }
    this.used += pixels
    holder.heldPixels += pixels
    this.observe?.(this.used)
  }

  /** Gives back everything a request held. */
  release (holder: { heldPixels: number }): void {
    this.used -= holder.heldPixels
    holder.heldPixels = 0
    this.observe?.(this.used)
  }
}
