import type { Engine } from '../inference/engine.js'
import type { SeededRandom } from '../synthetic/random.js'
import type { FeatureStore } from './feature-store.js'
import type { TrainingHost } from './training-host.js'
import type { FitProgress, LabelledImage } from './types.js'

/** Shares of the job's progress: extraction, training, then scoring the held-out images. */
const EXTRACTION_SHARE = 0.5
const TRAINING_SHARE = 0.45

/** Turns the phases' own counts into FitProgress over the whole job, never going backwards. */
export class ProgressReporter {
  private last = 0
  extractionSeconds = 0
  trainingSeconds = 0

  constructor (private readonly report: (p: FitProgress) => void, private readonly totalImages: number) {}

  extracted (images: number): void {
    this.emit({ state: 'extracting', progress: EXTRACTION_SHARE * images / Math.max(1, this.totalImages) })
  }

  trained (step: number, steps: number, epoch: number, epochs: number, loss?: number): void {
    this.emit({ state: 'training', progress: EXTRACTION_SHARE + TRAINING_SHARE * step / Math.max(1, steps), epoch, epochs, loss })
  }

  scored (fraction: number): void {
    this.emit({ state: 'training', progress: EXTRACTION_SHARE + TRAINING_SHARE + (1 - EXTRACTION_SHARE - TRAINING_SHARE) * fraction })
  }

  /** The job stopped: its state says so, its progress stays where it got to. */
  failed (): void {
    this.report({ state: 'failed', progress: this.last })
  }

  private emit (p: FitProgress): void {
    this.last = Math.max(this.last, Math.min(1, p.progress))
    this.report({ ...p, progress: this.last })
  }
}

/** What a task's fit is given: the backbone, where features go, the training thread, the split and the knobs. */
export interface FitJob {
  engine: Engine
  store: FeatureStore
  host: TrainingHost
  train: LabelledImage[]
  val: LabelledImage[]
  labels?: string[]
  epochs?: number
  random: SeededRandom
  signal?: AbortSignal
  progress: ProgressReporter
}

/** Timing the phases apart, for head.json and the bench. */
export async function timed<T> (work: () => Promise<T>, add: (seconds: number) => void): Promise<T> {
  const started = performance.now()
  try {
    return await work()
  } finally {
    add((performance.now() - started) / 1000)
  }
}

/** Gives the event loop a turn between long pieces of JavaScript work (scoring), so that serving keeps answering. */
export const yieldToEventLoop = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
