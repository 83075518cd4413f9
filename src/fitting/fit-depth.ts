import { badRequest } from '../errors.js'
import { resampleBilinear, samplingFor } from '../inference/resample.js'
import { extractDenseSets, scoreHeldOut, stackTargets, trainDense } from './dense-training.js'
import type { DenseSample } from './extract.js'
import { binCentres, DEPTH_BINS, depthHeadGraph, depthParameters, depthTrainGraph, MIN_DEPTH } from './graphs/depth.js'
import { timed, type FitJob } from './job.js'
import { lossGrid, sampleTarget } from './loss-grid.js'
import { DepthScore } from './metrics.js'
import { decodeDepth } from './targets.js'
import type { TaskResult } from './task-result.js'

export const DEPTH_DEFAULTS = { epochs: 40, batchImages: 8, learningRate: 0.05, weightDecay: 1e-4 }

/**
 * DINOv3's linear depth probe: normalised patch features → 1×1 conv to 256 bins spaced linearly up to the data's
 * largest depth, weights relu(x) + 0.1 normalised, depth = their weighted sum of bin centres; scale-invariant log
 * loss on the depth upsampled bilinearly to the loss grid; AdamW.
 */
export async function fitDepth (job: FitJob): Promise<TaskResult> {
  const channels = job.engine.backbone.hiddenSize
  const epochs = job.epochs ?? DEPTH_DEFAULTS.epochs
  const sets = await extractDenseSets(job)

  return timed(async () => {
    const grids = sets.train.map((s) => lossGrid(s.geometry, s.gridHeight, s.gridWidth))
    const maps: Float32Array[] = []
    let maxDepth = 0
    for (const [i, item] of job.train.entries()) {
      const depth = await decodeDepth(item.depth as Buffer, item.targetFile ?? item.file)
      for (const v of depth.data) if (v > maxDepth) maxDepth = v
      const grid = grids[i]
      maps.push(sampleTarget(depth.data, depth.width, grid, new Float32Array(grid.rowPixels.length * grid.columnPixels.length)))
    }
    if (maxDepth <= MIN_DEPTH) throw badRequest('the training depth maps hold no depth values (all 0): nothing to fit')
    const centres = binCentres(maxDepth)
    // Every bin starts alive (positive logits), at the mean of the centres; the data moves them from there.
    const optimiser = await trainDense(job, sets, {
      graph: depthTrainGraph(channels, centres, job.store.elementType),
      params: depthParameters(channels),
      initial: { weight: new Float32Array(DEPTH_BINS * channels), bias: new Float32Array(DEPTH_BINS).fill(1) },
      epochs,
      batchImages: DEPTH_DEFAULTS.batchImages,
      learningRate: DEPTH_DEFAULTS.learningRate,
      weightDecay: DEPTH_DEFAULTS.weightDecay,
      targets: (batch) => stackTargets('target', batch.map((i) => maps[i]), grids[batch[0]]),
      grids
    })
    const head = depthHeadGraph(optimiser.value('weight'), optimiser.value('bias'), sets.mean, sets.invStd, centres)
    const metrics = job.val.length === 0 ? {} : await scoreDepth(job, head, sets.val)
    return { head, metrics, fields: { unit: 'm', bins: { count: DEPTH_BINS, min_depth: MIN_DEPTH, max_depth: maxDepth } }, epochs }
  }, (s) => { job.progress.trainingSeconds += s })
}

/** The exported head on each held-out image, resampled to the image's size as /depth does, against its depth map. */
async function scoreDepth (job: FitJob, head: ReturnType<typeof depthHeadGraph>, samples: DenseSample[]): Promise<{ abs_rel: number, rmse: number, delta1: number }> {
  const score = new DepthScore()
  await scoreHeldOut(job, head, 'depth-head', 'predicted_depth', samples, async (i, map, sample) => {
    const { original } = sample.geometry
    const predicted = resampleBilinear(map, samplingFor(sample.geometry, map.width, map.height), original.width, original.height)
    const truth = await decodeDepth(job.val[i].depth as Buffer, job.val[i].targetFile ?? job.val[i].file)
    score.add(truth.data, predicted)
  })
  return score.result()
}
