import type { TensorData } from '../inference/ort-worker/protocol.js'
import { resampleArgmax, samplingFor } from '../inference/resample.js'
import { batchesPerEpoch, epochBatches, geometryKey, groupBy } from './batches.js'
import { ChannelStatistics, extractDense, type DenseSample } from './extract.js'
import { segmentationHeadGraph, segmentationParameters, segmentationTrainGraph } from './graphs/segmentation.js'
import { timed, yieldToEventLoop, type FitJob } from './job.js'
import { lossGrid, sampleTarget, type LossGrid } from './loss-grid.js'
import { SegmentationScore } from './metrics.js'
import { Optimiser } from './optimiser.js'
import { decodeMask, IGNORE_LABEL } from './targets.js'
import type { TaskResult } from './task-result.js'

export const SEGMENTATION_DEFAULTS = { epochs: 20, batchImages: 8, learningRate: 0.01, weightDecay: 1e-4 }

/**
 * DINOv3's linear segmentation probe: BatchNorm-like normalisation of the patch features (statistics of the training
 * set, folded into the exported conv) and a 1×1 conv, trained with AdamW on softmax cross-entropy of the logits
 * upsampled bilinearly to the mask (at the loss grid's pixels), ignore label 255.
 */
export async function fitSegmentation (job: FitJob): Promise<TaskResult> {
  const { engine, store, train, val } = job
  const labels = job.labels as string[]
  const classes = labels.length
  const channels = engine.backbone.hiddenSize
  const epochs = job.epochs ?? SEGMENTATION_DEFAULTS.epochs

  const statistics = new ChannelStatistics(channels)
  const [trainSamples, valSamples] = await timed(async () => {
    const t = await extractDense(engine, train.map((i) => i.image), store, statistics, job.signal, (n) => job.progress.extracted(n))
    const v = await extractDense(engine, val.map((i) => i.image), store, undefined, job.signal, (n) => job.progress.extracted(train.length + n))
    return [t, v]
  }, (s) => { job.progress.extractionSeconds += s })
  const { mean, invStd } = statistics.result()

  return timed(async () => {
    const targets: Array<{ grid: LossGrid, labels: Float32Array }> = []
    for (const [i, sample] of trainSamples.entries()) {
      const mask = await decodeMask(train[i].mask as Buffer, train[i].targetFile ?? train[i].file)
      const grid = lossGrid(sample.geometry, sample.gridHeight, sample.gridWidth)
      const sampled = sampleTarget(mask.data, mask.width, grid, new Float32Array(grid.rowPixels.length * grid.columnPixels.length))
      // Anything that is not a class (the ignore label) becomes K, which OneHot turns into an all-zero row.
      for (let p = 0; p < sampled.length; p++) if (sampled[p] >= classes || sampled[p] === IGNORE_LABEL) sampled[p] = classes
      targets.push({ grid, labels: sampled })
    }

    const session = await job.host.load(segmentationTrainGraph(channels, classes, store.elementType), 'segmentation-train')
    const groups = groupBy(trainSamples, (s) => geometryKey(s.geometry))
    const perEpoch = batchesPerEpoch(groups, SEGMENTATION_DEFAULTS.batchImages)
    const steps = perEpoch * epochs
    const params = segmentationParameters(channels, classes)
    const optimiser = new Optimiser(session, params, {
      weight: new Float32Array(classes * channels),
      bias: new Float32Array(classes)
    }, { steps, learningRate: SEGMENTATION_DEFAULTS.learningRate, weightDecay: SEGMENTATION_DEFAULTS.weightDecay, warmupSteps: Math.min(10, Math.ceil(steps / 20)) })
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        let lossSum = 0
        const batches = epochBatches(groups, SEGMENTATION_DEFAULTS.batchImages, job.random)
        for (const batch of batches) {
          job.signal?.throwIfAborted()
          lossSum += await optimiser.step(segmentationBatch(batch, trainSamples, targets, store, channels, mean, invStd))
          job.progress.trained(optimiser.stepsTaken, steps, epoch, epochs, lossSum / (batches.indexOf(batch) + 1))
        }
        job.progress.trained(optimiser.stepsTaken, steps, epoch, epochs, lossSum / batches.length)
      }
    } finally {
      await session.release()
    }
    const head = segmentationHeadGraph(optimiser.value('weight'), optimiser.value('bias'), mean, invStd)
    const metrics = val.length === 0 ? {} : await scoreSegmentation(job, head, valSamples, classes)
    return { head, metrics, fields: { labels }, epochs }
  }, (s) => { job.progress.trainingSeconds += s })
}

function segmentationBatch (batch: number[], samples: DenseSample[], targets: Array<{ grid: LossGrid, labels: Float32Array }>,
  store: FitJob['store'], channels: number, mean: Float32Array, invStd: Float32Array): Record<string, TensorData> {
  const first = samples[batch[0]]
  const { grid } = targets[batch[0]]
  const lossCells = targets[batch[0]].labels.length
  const labels = new Float32Array(batch.length * lossCells)
  batch.forEach((index, i) => labels.set(targets[index].labels, i * lossCells))
  return {
    features: { type: store.elementType, data: store.batch(batch.map((i) => samples[i].feature)), dims: [batch.length, channels, first.gridHeight, first.gridWidth] },
    feature_mean: { type: 'float32', data: mean.slice(), dims: [1, channels, 1, 1] },
    feature_inv_std: { type: 'float32', data: invStd.slice(), dims: [1, channels, 1, 1] },
    rows: { type: 'float32', data: grid.rows.slice(), dims: [grid.rowPixels.length, first.gridHeight] },
    columns: { type: 'float32', data: grid.columns.slice(), dims: [first.gridWidth, grid.columnPixels.length] },
    labels: { type: 'float32', data: labels, dims: [batch.length, grid.rowPixels.length, grid.columnPixels.length] }
  }
}

/** The exported head on each held-out image, its logits brought to the image's size as /segment does, against the mask. */
async function scoreSegmentation (job: FitJob, head: ReturnType<typeof segmentationHeadGraph>, samples: DenseSample[], classes: number): Promise<{ miou: number, pixel_accuracy: number }> {
  const session = await job.host.load(head, 'segmentation-head')
  const score = new SegmentationScore(classes)
  try {
    for (const [i, sample] of samples.entries()) {
      job.signal?.throwIfAborted()
      const channels = job.engine.backbone.hiddenSize
      const out = await session.run({ patch_features: { type: 'float32', data: job.store.read(sample.feature), dims: [1, channels, sample.gridHeight, sample.gridWidth] } }, ['logits'])
      const [, planes, height, width] = out.logits.dims
      const { original } = sample.geometry
      const predicted = resampleArgmax({ data: out.logits.data as Float32Array, planes, height, width }, samplingFor(sample.geometry, width, height), original.width, original.height)
      const mask = await decodeMask(job.val[i].mask as Buffer, job.val[i].targetFile ?? job.val[i].file)
      score.add(mask.data, predicted)
      job.progress.scored((i + 1) / samples.length)
      await yieldToEventLoop()
    }
  } finally {
    await session.release()
  }
  return score.result()
}
