import { resampleArgmax, samplingFor } from '../inference/resample.js'
import { extractDenseSets, scoreHeldOut, stackTargets, trainDense } from './dense-training.js'
import type { DenseSample } from './extract.js'
import { segmentationHeadGraph, segmentationParameters, segmentationTrainGraph } from './graphs/segmentation.js'
import { timed, type FitJob } from './job.js'
import { lossGrid, sampleTarget } from './loss-grid.js'
import { SegmentationScore } from './metrics.js'
import { decodeMask, IGNORE_LABEL } from './targets.js'
import type { TaskResult } from './task-result.js'

export const SEGMENTATION_DEFAULTS = { epochs: 20, batchImages: 8, learningRate: 0.01, weightDecay: 1e-4 }

/**
 * DINOv3's linear segmentation probe: BatchNorm-like normalisation of the patch features (statistics of the training
 * set, folded into the exported conv) and a 1×1 conv, trained with AdamW on softmax cross-entropy of the logits
 * upsampled bilinearly to the mask (at the loss grid's pixels), ignore label 255.
 */
export async function fitSegmentation (job: FitJob): Promise<TaskResult> {
  const labels = job.labels as string[]
  const classes = labels.length
  const channels = job.engine.backbone.hiddenSize
  const epochs = job.epochs ?? SEGMENTATION_DEFAULTS.epochs
  const sets = await extractDenseSets(job)

  return timed(async () => {
    const grids = sets.train.map((s) => lossGrid(s.geometry, s.gridHeight, s.gridWidth))
    const maps: Float32Array[] = []
    for (const [i, item] of job.train.entries()) {
      const mask = await decodeMask(item.mask as Buffer, item.targetFile ?? item.file)
      const grid = grids[i]
      const sampled = sampleTarget(mask.data, mask.width, grid, new Float32Array(grid.rowPixels.length * grid.columnPixels.length))
      // Anything that is not a class (the ignore label) becomes K, which OneHot turns into an all-zero row.
      for (let p = 0; p < sampled.length; p++) if (sampled[p] >= classes || sampled[p] === IGNORE_LABEL) sampled[p] = classes
      maps.push(sampled)
    }
    const optimiser = await trainDense(job, sets, {
      graph: segmentationTrainGraph(channels, classes, job.store.elementType),
      params: segmentationParameters(channels, classes),
      initial: { weight: new Float32Array(classes * channels), bias: new Float32Array(classes) },
      epochs,
      batchImages: SEGMENTATION_DEFAULTS.batchImages,
      learningRate: SEGMENTATION_DEFAULTS.learningRate,
      weightDecay: SEGMENTATION_DEFAULTS.weightDecay,
      targets: (batch) => stackTargets('labels', batch.map((i) => maps[i]), grids[batch[0]]),
      grids
    })
    const head = segmentationHeadGraph(optimiser.value('weight'), optimiser.value('bias'), sets.mean, sets.invStd)
    const metrics = job.val.length === 0 ? {} : await scoreSegmentation(job, head, sets.val, classes)
    return { head, metrics, fields: { labels }, epochs }
  }, (s) => { job.progress.trainingSeconds += s })
}

/** The exported head on each held-out image, its logits brought to the image's size as /segment does, against the mask. */
async function scoreSegmentation (job: FitJob, head: ReturnType<typeof segmentationHeadGraph>, samples: DenseSample[], classes: number): Promise<{ miou: number, pixel_accuracy: number }> {
  const score = new SegmentationScore(classes)
  await scoreHeldOut(job, head, 'segmentation-head', 'logits', samples, async (i, map, sample) => {
    const { original } = sample.geometry
    const predicted = resampleArgmax(map, samplingFor(sample.geometry, map.width, map.height), original.width, original.height)
    const mask = await decodeMask(job.val[i].mask as Buffer, job.val[i].targetFile ?? job.val[i].file)
    score.add(mask.data, predicted)
  })
  return score.result()
}
