import type { BackboneRecord } from '../inference/heads/head-config.js'

export type FitTask = 'segmentation' | 'depth' | 'classification'
export type FitKind = 'linear' | 'knn'

/**
 * One labelled example. `mask`: a 1-channel label PNG at the image's size (pixel = class index, 255 = ignore);
 * `depth`: a 16-bit PNG in millimetres (0 = no value) or a float32 .npy [H, W] in metres (told apart by their magic
 * bytes); `label`: a class name. `file` names the example in errors.
 */
export interface LabelledImage {
  file: string
  image: Buffer
  mask?: Buffer
  /** The mask's or depth map's own file name, for errors that concern it (defaults to `file`). */
  targetFile?: string
  depth?: Buffer
  label?: string
}

export interface FitRequest {
  task: FitTask
  name: string
  /** Classification only: logistic regression (default) or a k-nearest-neighbour vote. */
  kind?: FitKind
  epochs?: number
  /** Share of `train` held out for the metrics when `val` is not given (default 0.2). */
  valFraction?: number
  /** Class names in index order (segmentation: mask value i is labels[i]; classification: the classes). */
  labels?: string[]
  train: LabelledImage[]
  val?: LabelledImage[]
}

export type FitState = 'extracting' | 'training' | 'done' | 'failed'

export interface FitProgress {
  state: FitState
  /** 0..1 over the whole job. */
  progress: number
  epoch?: number
  epochs?: number
  loss?: number
}

export interface SegmentationMetrics { miou: number, pixel_accuracy: number }
export interface DepthMetrics { abs_rel: number, rmse: number, delta1: number }
export interface ClassificationMetrics { top1: number }
/** On the held-out images; empty when nothing was held out. */
export type FitMetrics = Partial<SegmentationMetrics & DepthMetrics & ClassificationMetrics>

/** The backbone a head was fitted on: the record the head loader checks against the served backbone. */
export type FittedBackbone = BackboneRecord

/** head.json of a fitted head: the head contract's fields, plus what it was fitted on and how well it did. */
export interface FittedHeadJson {
  task: FitTask
  labels?: string[]
  unit?: 'm'
  kind?: FitKind
  /** Depth: the bins the head weighs, linear from min_depth to max_depth (metres). */
  bins?: { count: number, min_depth: number, max_depth: number }
  metrics: FitMetrics
  backbone: FittedBackbone
  fitted: {
    train_images: number
    val_images: number
    epochs: number
    seconds: number
    /** ISO 8601 time the fit finished. */
    at: string
    /** Seconds spent extracting features and training, apart. */
    extraction_seconds: number
    training_seconds: number
    /** True when the features outgrew the memory budget and were kept on disk as float16. */
    spilled: boolean
  }
}

export interface FittedHead {
  dir: string
  headJson: FittedHeadJson
}

/** Knobs of the fit that are not part of the request: the operator's, not the client's. */
export interface FitOptions {
  /** Bytes of features kept in memory before they spill to disk as float16 (default: FIT_MEMORY_MB, else 1 GiB capped to a quarter of RAM). */
  memoryBudgetBytes?: number
  /** Where spilled features and the training graphs go (default: the OS temp folder). */
  scratchDir?: string
  /** Seed of the shuffles, the held-out split and the initial weights. */
  seed?: number
  /** Nice value of the training thread (default 15: below serving). */
  nice?: number
}
