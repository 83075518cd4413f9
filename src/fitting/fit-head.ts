import { tmpdir } from 'node:os'
import type { Engine } from '../inference/engine.js'
import { SeededRandom } from '../synthetic/random.js'
import { shuffle } from './batches.js'
import { checkDataset, classificationLabels } from './check-dataset.js'
import { defaultMemoryBudgetBytes, FeatureStore } from './feature-store.js'
import { fitClassification } from './fit-classification.js'
import { fitDepth } from './fit-depth.js'
import { fitSegmentation } from './fit-segmentation.js'
import { ProgressReporter, type FitJob } from './job.js'
import type { TaskResult } from './task-result.js'
import { TrainingHost } from './training-host.js'
import type { FitOptions, FitProgress, FitRequest, FittedHead, FittedHeadJson, LabelledImage } from './types.js'
import { refuseExisting, writeHead } from './write-head.js'

export const DEFAULT_VAL_FRACTION = 0.2
const TRAINING_NICE = 15

/** The held-out images: `val` when given, else a seeded random `valFraction` of `train` (at least one). */
export function splitDataset (request: FitRequest, random: SeededRandom): { train: LabelledImage[], val: LabelledImage[] } {
  if (request.val !== undefined) return { train: request.train, val: request.val }
  const fraction = request.valFraction ?? DEFAULT_VAL_FRACTION
  if (fraction === 0) return { train: request.train, val: [] }
  const order = shuffle(request.train.map((_, i) => i), random)
  const held = Math.min(request.train.length - 1, Math.max(1, Math.round(request.train.length * fraction)))
  const valSet = new Set(order.slice(0, held))
  return { train: request.train.filter((_, i) => !valSet.has(i)), val: request.train.filter((_, i) => valSet.has(i)) }
}

/**
 * Fits a head on the frozen backbone and writes it to headsDir/<name> (head.json and model.onnx, atomically).
 * Features come from the serving engine's batcher; training runs on a low-priority thread of its own.
 */
export async function fitHead (engine: Engine, request: FitRequest, headsDir: string, onProgress: (p: FitProgress) => void,
  signal?: AbortSignal, options: FitOptions = {}): Promise<FittedHead> {
  await checkDataset(engine, request)
  refuseExisting(headsDir, request.name)
  const started = performance.now()
  const random = new SeededRandom(options.seed ?? 0)
  const { train, val } = splitDataset(request, random)
  const progress = new ProgressReporter(onProgress, train.length + val.length)
  const scratch = options.scratchDir ?? tmpdir()
  const store = new FeatureStore(options.memoryBudgetBytes ?? defaultMemoryBudgetBytes(), scratch)
  let host: TrainingHost | undefined
  let result: TaskResult
  let spilled = false
  try {
    progress.extracted(0)
    host = await TrainingHost.start(scratch, options.nice ?? TRAINING_NICE)
    const job: FitJob = {
      engine,
      store,
      host,
      train,
      val,
      labels: request.task === 'classification' ? classificationLabels(request) : request.labels,
      epochs: request.epochs,
      random,
      signal,
      progress
    }
    result = await runTask(request, job)
    spilled = store.spilled
  } catch (error) {
    progress.failed()
    throw error
  } finally {
    store.close()
    await host?.close()
  }
  const folder = engine.folder
  const headJson: FittedHeadJson = {
    task: request.task,
    ...result.fields,
    metrics: result.metrics,
    backbone: {
      name: folder.name,
      model_type: folder.config.modelType,
      dim: folder.config.hiddenSize,
      patch: folder.config.patchSize,
      registers: folder.config.registers,
      variant: folder.variant
    },
    fitted: {
      train_images: train.length,
      val_images: val.length,
      epochs: result.epochs,
      seconds: round((performance.now() - started) / 1000),
      at: new Date().toISOString(),
      extraction_seconds: round(progress.extractionSeconds),
      training_seconds: round(progress.trainingSeconds),
      spilled
    }
  }
  const dir = writeHead(headsDir, request.name, result.head, headJson)
  onProgress({ state: 'done', progress: 1 })
  return { dir, headJson }
}

async function runTask (request: FitRequest, job: FitJob): Promise<TaskResult> {
  switch (request.task) {
    case 'segmentation': return fitSegmentation(job)
    case 'depth': return fitDepth(job)
    case 'classification': return fitClassification(job, request.kind ?? 'linear')
  }
}

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000
