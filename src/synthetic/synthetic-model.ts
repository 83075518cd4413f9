import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BackboneFamily } from '../inference/model-folder.js'
import { buildBackboneGraph, type SyntheticAttention, type SyntheticPrecision } from './backbone-graph.js'
import { backbonePresets, type BackbonePreset, type BackboneSpec } from './backbone-spec.js'
import { makeBackboneWeights } from './backbone-weights.js'
import { buildConvNextGraph } from './convnext-graph.js'
import { checkConvNextSpec, convnextPresets, convnextStride, type ConvNextSpec } from './convnext-spec.js'
import { makeConvNextWeights } from './convnext-weights.js'
import type { GraphBuilder } from './onnx-builder.js'
import { buildClassificationHead, buildDepthHead, buildSegmentationHead } from './head-graphs.js'
import { writeOnnx } from './write-onnx.js'

export const IMAGENET_MEAN = [0.485, 0.456, 0.406]
export const IMAGENET_STD = [0.229, 0.224, 0.225]
/** The normalisation of DINOv3's SAT-493M satellite backbones. */
export const SATELLITE_MEAN = [0.430, 0.411, 0.296]
export const SATELLITE_STD = [0.213, 0.156, 0.143]

export interface SyntheticModelOptions {
  /** vit (default): a DINOv3 ViT. convnext: a DINOv3 ConvNeXt (stride 32, no registers). */
  family?: BackboneFamily
  preset?: BackbonePreset
  /** Overrides of the ViT preset's shape (patch size, registers, …). */
  spec?: Partial<BackboneSpec>
  /** Overrides of the ConvNeXt preset's shape (hidden sizes, depths). */
  convnext?: Partial<ConvNextSpec>
  seed?: number
  /** The processor's square input size for /embed. */
  imageSize?: number
  mean?: number[]
  std?: number[]
  /** Weights in `model.onnx_data`, as real exports keep them. */
  externalData?: boolean
  /** Extra variants beside fp32: `model_fp16.onnx`, `model_quantized.onnx`. */
  variants?: Exclude<SyntheticPrecision, 'fp32'>[]
  /** How a ViT's attention is written (see SyntheticAttention); plain, as hub exports are, by default. */
  attention?: SyntheticAttention
  /**
   * Writes `heads/segmentation` (linear, with this many classes) and `heads/depth` (linear, metres); with
   * `classification`, also `heads/classification` (linear on CLS and mean patch token, that many classes).
   */
  heads?: boolean | { classes: number, classification?: number }
}

/** Class names of the synthetic segmentation head: placeholders, since its weights are random. */
export const syntheticLabels = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `class_${String(i).padStart(String(count - 1).length, '0')}`)

/** Category names of the synthetic classification head: placeholders, since its weights are random. */
export const syntheticCategories = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `category_${String(i).padStart(String(count - 1).length, '0')}`)

/** What the service reads from the folder, whichever the family. */
export interface SyntheticGrid {
  hiddenSize: number
  /** The ViT's patch, or the ConvNeXt's total stride. */
  patchSize: number
  registers: number
}

export type SyntheticModel = { dir: string, seed: number, grid: SyntheticGrid } & (
  | { family: 'vit', spec: BackboneSpec }
  | { family: 'convnext', spec: ConvNextSpec }
)

/** The family's config.json and a graph builder per precision. */
interface FamilyModel {
  config: object
  graph: (precision: SyntheticPrecision) => GraphBuilder
}

const variantFile: Record<SyntheticPrecision, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  quantized: 'model_quantized.onnx'
}

/** Writes a model folder in the Hugging Face layout, with random weights that everything marks as synthetic. */
export function writeSyntheticModel (dir: string, options: SyntheticModelOptions = {}): SyntheticModel {
  const preset = options.preset ?? 'tiny'
  const seed = options.seed ?? 0
  const imageSize = options.imageSize ?? 224
  const marks = { synthetic: true, synthetic_preset: preset, synthetic_seed: seed }
  let model: SyntheticModel
  let family: FamilyModel
  if (options.family === 'convnext') {
    const spec: ConvNextSpec = { ...convnextPresets[preset], ...options.convnext }
    checkConvNextSpec(spec)
    model = { dir, seed, family: 'convnext', spec, grid: convnextGrid(spec) }
    family = convnextModel(spec, imageSize, seed, marks)
  } else {
    const spec: BackboneSpec = { ...backbonePresets[preset], ...options.spec }
    if (spec.hiddenSize % spec.heads !== 0) throw new Error(`hidden size ${spec.hiddenSize} is not divisible by ${spec.heads} heads`)
    model = { dir, seed, family: 'vit', spec, grid: { hiddenSize: spec.hiddenSize, patchSize: spec.patchSize, registers: spec.registers } }
    family = vitModel(spec, imageSize, seed, options.attention ?? 'plain', marks)
  }
  const { grid } = model
  const unit = model.family === 'vit' ? 'patch' : 'stride'
  if (imageSize % grid.patchSize !== 0) throw new Error(`image size ${imageSize} is not a multiple of the ${unit} ${grid.patchSize}`)

  mkdirSync(join(dir, 'onnx'), { recursive: true })
  writeJson(join(dir, 'config.json'), family.config)
  writeJson(join(dir, 'preprocessor_config.json'), {
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: options.mean ?? IMAGENET_MEAN,
    image_processor_type: 'DINOv3ViTImageProcessorFast',
    image_std: options.std ?? IMAGENET_STD,
    resample: 2,
    rescale_factor: 1 / 255,
    size: { height: imageSize, width: imageSize }
  })

  for (const precision of ['fp32', ...(options.variants ?? [])] as SyntheticPrecision[]) {
    writeOnnx(family.graph(precision), join(dir, 'onnx', variantFile[precision]), options.externalData ?? false)
  }
  if (options.heads !== undefined && options.heads !== false) {
    const classes = options.heads === true ? 8 : options.heads.classes
    writeHead(join(dir, 'heads', 'segmentation'), buildSegmentationHead(grid.hiddenSize, classes, seed + 1),
      { task: 'segmentation', labels: syntheticLabels(classes), synthetic: true })
    writeHead(join(dir, 'heads', 'depth'), buildDepthHead(grid.hiddenSize, seed + 2), { task: 'depth', unit: 'm', synthetic: true })
    const categories = options.heads === true ? undefined : options.heads.classification
    if (categories !== undefined) {
      writeHead(join(dir, 'heads', 'classification'), buildClassificationHead(grid.hiddenSize, categories, seed + 3),
        { task: 'classification', labels: syntheticCategories(categories), synthetic: true })
    }
  }
  return model
}

function vitModel (spec: BackboneSpec, imageSize: number, seed: number, attention: SyntheticAttention, marks: object): FamilyModel {
  const weights = makeBackboneWeights(spec, seed)
  return {
    config: {
      architectures: ['DINOv3ViTModel'],
      model_type: 'dinov3_vit',
      hidden_size: spec.hiddenSize,
      intermediate_size: spec.hiddenSize * spec.mlpRatio,
      num_attention_heads: spec.heads,
      num_hidden_layers: spec.depth,
      num_channels: 3,
      num_register_tokens: spec.registers,
      patch_size: spec.patchSize,
      image_size: imageSize,
      layer_norm_eps: 1e-6,
      // Not part of Hugging Face's config: the service reads it to say loudly that the weights are random.
      ...marks,
      synthetic_attention: attention
    },
    graph: (precision) => buildBackboneGraph(spec, weights, precision, attention)
  }
}

const convnextGrid = (spec: ConvNextSpec): SyntheticGrid =>
  ({ hiddenSize: spec.hiddenSizes[spec.hiddenSizes.length - 1], patchSize: convnextStride(spec), registers: 0 })

/** The config.json of transformers' DINOv3ConvNextConfig: no hidden_size, no patch_size, no registers. */
function convnextModel (spec: ConvNextSpec, imageSize: number, seed: number, marks: object): FamilyModel {
  const weights = makeConvNextWeights(spec, seed)
  return {
    config: {
      architectures: ['DINOv3ConvNextModel'],
      model_type: 'dinov3_convnext',
      hidden_sizes: spec.hiddenSizes,
      depths: spec.depths,
      hidden_act: 'gelu',
      num_channels: 3,
      image_size: imageSize,
      layer_norm_eps: 1e-6,
      layer_scale_init_value: 1e-6,
      drop_path_rate: 0,
      ...marks
    },
    graph: (precision) => buildConvNextGraph(spec, weights, precision)
  }
}

function writeHead (dir: string, graph: ReturnType<typeof buildDepthHead>, config: object): void {
  mkdirSync(dir, { recursive: true })
  writeOnnx(graph, join(dir, 'model.onnx'), false)
  writeJson(join(dir, 'head.json'), config)
}

function writeJson (file: string, value: object): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n')
}
