import type { SessionLike } from '../inference/ort-worker/ort-host.js'
import type { TensorData } from '../inference/ort-worker/protocol.js'
import { BETA1, BETA2, firstMoment, next, secondMoment, type Parameter } from './graphs/adamw.js'

export interface Schedule {
  steps: number
  /** Peak learning rate, reached after the warm-up and decayed to zero by a half cosine. */
  learningRate: number
  weightDecay: number
  warmupSteps: number
}

export function learningRateAt (schedule: Schedule, step: number): number {
  if (step < schedule.warmupSteps) return schedule.learningRate * (step + 1) / schedule.warmupSteps
  const progress = (step - schedule.warmupSteps) / Math.max(1, schedule.steps - schedule.warmupSteps)
  return schedule.learningRate * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)))
}

/**
 * Holds the parameters and AdamW moments between steps of a training graph (adamw.ts): each step sends them with
 * the batch and takes the updated ones back. They are small (K×C); the batch is what costs.
 */
export class Optimiser {
  private readonly state = new Map<string, Float32Array>()
  private steps = 0

  constructor (private readonly session: SessionLike, private readonly params: Parameter[], initial: Record<string, Float32Array>, private readonly schedule: Schedule) {
    for (const p of params) {
      this.state.set(p.name, initial[p.name])
      this.state.set(firstMoment(p.name), new Float32Array(initial[p.name].length))
      this.state.set(secondMoment(p.name), new Float32Array(initial[p.name].length))
    }
  }

  get stepsTaken (): number { return this.steps }

  value (name: string): Float32Array {
    return this.state.get(name) as Float32Array
  }

  /** One step on a batch; returns the batch's loss before the update. */
  async step (batch: Record<string, TensorData>): Promise<number> {
    const t = this.steps + 1
    const feeds: Record<string, TensorData> = { ...batch }
    for (const p of this.params) {
      for (const name of [p.name, firstMoment(p.name), secondMoment(p.name)]) {
        feeds[name] = { type: 'float32', data: this.state.get(name) as Float32Array, dims: p.shape }
      }
    }
    const scalar = (value: number): TensorData => ({ type: 'float32', data: Float32Array.of(value), dims: [] })
    feeds.learning_rate = scalar(learningRateAt(this.schedule, this.steps))
    feeds.weight_decay = scalar(this.schedule.weightDecay)
    feeds.bias_correction1 = scalar(1 / (1 - BETA1 ** t))
    feeds.bias_correction2 = scalar(1 / (1 - BETA2 ** t))
    const fetches = ['loss', ...this.params.flatMap((p) => [next(p.name), next(firstMoment(p.name)), next(secondMoment(p.name))])]
    const out = await this.session.run(feeds, fetches, { handOver: true })
    for (const p of this.params) {
      for (const name of [p.name, firstMoment(p.name), secondMoment(p.name)]) this.state.set(name, out[next(name)].data as Float32Array)
    }
    this.steps = t
    return (out.loss.data as Float32Array)[0]
  }
}
