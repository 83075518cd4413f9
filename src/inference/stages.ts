import type { RasterOptions } from '../image/geotiff/raster-options.js'

export const stages = ['decode', 'preprocess', 'queue', 'inference', 'postprocess'] as const
export type Stage = typeof stages[number]

export type StageObserver = (stage: Stage, seconds: number) => void

/** Time spent by one request in each stage, for its timing headers and the per-stage histograms. */
export class StageTimes {
  readonly ms: Record<Stage, number> = { decode: 0, preprocess: 0, queue: 0, inference: 0, postprocess: 0 }

  constructor (private readonly observe?: StageObserver) {}

  add (stage: Stage, ms: number): void {
    this.ms[stage] += ms
    this.observe?.(stage, ms / 1000)
  }

  async time<T> (stage: Stage, work: () => Promise<T> | T): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.add(stage, performance.now() - started)
    }
  }
}

/** What travels with each request into the core: how to stop, and where to record time. */
export interface RequestContext {
  signal?: AbortSignal
  times: StageTimes
  /** How a TIFF's bands become the model's RGB (band choice, stretch), where the request says. */
  raster?: RasterOptions
  /** Model-input pixels of decoded images this request holds against MAX_QUEUED_PIXELS (given back when it ends). */
  heldPixels: number
}
