import { ChannelStatistics, extractGlobal, type GlobalSample } from './extract.js'
import { epochBatches } from './batches.js'
import { classifierHeadGraph, classifierParameters, classifierTrainGraph, knnHeadGraph } from './graphs/classification.js'
import { timed, yieldToEventLoop, type FitJob } from './job.js'
import { Optimiser } from './optimiser.js'
import type { GraphBuilder } from '../synthetic/onnx-builder.js'
import type { TaskResult } from './task-result.js'
import type { FitKind } from './types.js'

export const CLASSIFICATION_DEFAULTS = { epochs: 100, batchImages: 256, learningRate: 0.01, weightDecay: 1e-4 }

/**
 * Logistic regression on CLS ⊕ mean patch token (standardised, the statistics folded into the exported layer),
 * trained with AdamW in a graph; or, with kind=knn, DINO's weighted k-NN vote over the training vectors.
 */
export async function fitClassification (job: FitJob, kind: FitKind): Promise<TaskResult> {
  const labels = job.labels as string[]
  const classes = labels.length
  const channels = job.engine.backbone.hiddenSize
  const [train, val] = await timed(async () => {
    const t = await extractGlobal(job.engine, job.train.map((i) => i.image), undefined, job.signal, (n) => job.progress.extracted(n))
    const v = await extractGlobal(job.engine, job.val.map((i) => i.image), job.store, job.signal, (n) => job.progress.extracted(job.train.length + n))
    return [t, v]
  }, (s) => { job.progress.extractionSeconds += s })
  const trainLabels = job.train.map((item) => labels.indexOf(item.label as string))

  return timed(async () => {
    let head: GraphBuilder
    let epochs = 0
    if (kind === 'knn') {
      head = knnHeadGraph(train.map((s) => s.vector), trainLabels, classes)
    } else {
      epochs = job.epochs ?? CLASSIFICATION_DEFAULTS.epochs
      head = await trainClassifier(job, train, trainLabels, classes, 2 * channels, epochs)
    }
    const metrics = job.val.length === 0 ? {} : { top1: await scoreClassification(job, head, val, labels) }
    return { head, metrics, fields: { labels, kind }, epochs }
  }, (s) => { job.progress.trainingSeconds += s })
}

async function trainClassifier (job: FitJob, train: GlobalSample[], labels: number[], classes: number, features: number, epochs: number): Promise<GraphBuilder> {
  const statistics = new ChannelStatistics(features)
  const all = new Float32Array(train.length * features)
  train.forEach((s, i) => all.set(s.vector, i * features))
  statistics.add(all, train.length, false)
  const { mean, invStd } = statistics.result()
  const session = await job.host.load(classifierTrainGraph(features, classes), 'classifier-train')
  const everyone = [train.map((_, i) => i)]
  const perEpoch = Math.ceil(train.length / CLASSIFICATION_DEFAULTS.batchImages)
  const steps = perEpoch * epochs
  const optimiser = new Optimiser(session, classifierParameters(features, classes), {
    weight: new Float32Array(classes * features),
    bias: new Float32Array(classes)
  }, { steps, learningRate: CLASSIFICATION_DEFAULTS.learningRate, weightDecay: CLASSIFICATION_DEFAULTS.weightDecay, warmupSteps: Math.min(10, Math.ceil(steps / 20)) })
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let lossSum = 0
      const batches = epochBatches(everyone, CLASSIFICATION_DEFAULTS.batchImages, job.random)
      for (const batch of batches) {
        job.signal?.throwIfAborted()
        const vectors = new Float32Array(batch.length * features)
        batch.forEach((index, i) => vectors.set(train[index].vector, i * features))
        lossSum += await optimiser.step({
          vectors: { type: 'float32', data: vectors, dims: [batch.length, features] },
          feature_mean: { type: 'float32', data: mean.slice(), dims: [1, features] },
          feature_inv_std: { type: 'float32', data: invStd.slice(), dims: [1, features] },
          labels: { type: 'float32', data: Float32Array.from(batch, (i) => labels[i]), dims: [batch.length] }
        })
      }
      job.progress.trained(optimiser.stepsTaken, steps, epoch, epochs, lossSum / batches.length)
    }
  } finally {
    await session.release()
  }
  return classifierHeadGraph(optimiser.value('weight'), optimiser.value('bias'), mean, invStd)
}

/** Top-1 of the exported head on the held-out images, fed as /classify feeds it: CLS and the patch grid. */
async function scoreClassification (job: FitJob, head: GraphBuilder, samples: GlobalSample[], labels: string[]): Promise<number> {
  const session = await job.host.load(head, 'classifier-head')
  const channels = job.engine.backbone.hiddenSize
  let correct = 0
  try {
    for (const [i, sample] of samples.entries()) {
      const out = await session.run({
        cls_token: { type: 'float32', data: sample.cls, dims: [1, channels] },
        patch_features: { type: 'float32', data: job.store.read(sample.feature as number), dims: [1, channels, sample.gridHeight, sample.gridWidth] }
      }, ['probabilities'])
      const probabilities = out.probabilities.data as Float32Array
      let best = 0
      for (let k = 1; k < probabilities.length; k++) if (probabilities[k] > probabilities[best]) best = k
      if (labels[best] === job.val[i].label) correct += 1
      job.progress.scored((i + 1) / samples.length)
      await yieldToEventLoop()
    }
  } finally {
    await session.release()
  }
  return correct / samples.length
}
