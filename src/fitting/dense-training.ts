import type { TensorData } from '../inference/ort-worker/protocol.js'
import type { PlanarMap } from '../inference/resample.js'
import type { GraphBuilder } from '../synthetic/onnx-builder.js'
import { batchesPerEpoch, epochBatches, geometryKey, groupBy } from './batches.js'
import { ChannelStatistics, extractDense, type DenseSample } from './extract.js'
import type { Parameter } from './graphs/adamw.js'
import { timed, yieldToEventLoop, type FitJob } from './job.js'
import type { LossGrid } from './loss-grid.js'
import { Optimiser } from './optimiser.js'

export interface DenseSets {
  train: DenseSample[]
  val: DenseSample[]
  mean: Float32Array
  invStd: Float32Array
}

/** Features of the training and held-out images, and the training set's per-channel statistics. */
export async function extractDenseSets (job: FitJob): Promise<DenseSets> {
  const statistics = new ChannelStatistics(job.engine.backbone.hiddenSize)
  return timed(async () => {
    const train = await extractDense(job.engine, job.train.map((i) => i.image), job.store, statistics, job.signal, (n) => job.progress.extracted(n))
    const val = await extractDense(job.engine, job.val.map((i) => i.image), job.store, undefined, job.signal, (n) => job.progress.extracted(job.train.length + n))
    return { train, val, ...statistics.result() }
  }, (s) => { job.progress.extractionSeconds += s })
}

export interface DenseTraining {
  graph: GraphBuilder
  params: Parameter[]
  initial: Record<string, Float32Array>
  epochs: number
  batchImages: number
  learningRate: number
  weightDecay: number
  /** The target inputs of a batch (labels, depth), in the order of its images. */
  targets: (batch: number[]) => Record<string, TensorData>
  grids: LossGrid[]
}

/** Epochs of AdamW steps over batches of same-geometry images, on the training thread; returns the trained parameters. */
export async function trainDense (job: FitJob, sets: DenseSets, training: DenseTraining): Promise<Optimiser> {
  const { store } = job
  const channels = job.engine.backbone.hiddenSize
  const session = await job.host.load(training.graph, 'train')
  const groups = groupBy(sets.train, (s) => geometryKey(s.geometry))
  const steps = batchesPerEpoch(groups, training.batchImages) * training.epochs
  const optimiser = new Optimiser(session, training.params, training.initial, {
    steps,
    learningRate: training.learningRate,
    weightDecay: training.weightDecay,
    warmupSteps: Math.min(10, Math.ceil(steps / 20))
  })
  try {
    for (let epoch = 1; epoch <= training.epochs; epoch++) {
      let lossSum = 0
      let done = 0
      for (const batch of epochBatches(groups, training.batchImages, job.random)) {
        job.signal?.throwIfAborted()
        const first = sets.train[batch[0]]
        const grid = training.grids[batch[0]]
        lossSum += await optimiser.step({
          features: { type: store.elementType, data: store.batch(batch.map((i) => sets.train[i].feature)), dims: [batch.length, channels, first.gridHeight, first.gridWidth] },
          feature_mean: { type: 'float32', data: sets.mean.slice(), dims: [1, channels, 1, 1] },
          feature_inv_std: { type: 'float32', data: sets.invStd.slice(), dims: [1, channels, 1, 1] },
          rows: { type: 'float32', data: grid.rows.slice(), dims: [grid.rowPixels.length, first.gridHeight] },
          columns: { type: 'float32', data: grid.columns.slice(), dims: [first.gridWidth, grid.columnPixels.length] },
          ...training.targets(batch)
        })
        done += 1
        job.progress.trained(optimiser.stepsTaken, steps, epoch, training.epochs, lossSum / done)
      }
    }
  } finally {
    await session.release()
  }
  return optimiser
}

/** Targets of several images, each [H', W'], concatenated along a new batch axis. */
export function stackTargets (name: string, maps: Float32Array[], grid: LossGrid): Record<string, TensorData> {
  const cells = maps[0].length
  const data = new Float32Array(maps.length * cells)
  maps.forEach((map, i) => data.set(map, i * cells))
  return { [name]: { type: 'float32', data, dims: [maps.length, grid.rowPixels.length, grid.columnPixels.length] } }
}

/**
 * Runs an exported dense head on each held-out image's features and hands its output map to `score`, as the
 * endpoints would see it; progress and cancellation are checked between images.
 */
export async function scoreHeldOut (job: FitJob, head: GraphBuilder, name: string, output: string, samples: DenseSample[],
  score: (index: number, map: PlanarMap, sample: DenseSample) => Promise<void>): Promise<void> {
  const session = await job.host.load(head, name)
  const channels = job.engine.backbone.hiddenSize
  try {
    for (const [i, sample] of samples.entries()) {
      job.signal?.throwIfAborted()
      const out = await session.run({ patch_features: { type: 'float32', data: job.store.read(sample.feature), dims: [1, channels, sample.gridHeight, sample.gridWidth] } }, [output])
      const [, planes, height, width] = out[output].dims
      await score(i, { data: out[output].data as Float32Array, planes, height, width }, sample)
      job.progress.scored((i + 1) / samples.length)
      await yieldToEventLoop()
    }
  } finally {
    await session.release()
  }
}
