import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { ModelFolderError } from './model-folder-error.js'
import { type Processor, parseProcessor } from './processor.js'
import { onnxPathForVariant } from '../hub/variant-files.js'

export { ModelFolderError }

/** vit: tokens from patches of `patch_size`, with registers. convnext: a stride-32 conv pyramid, no registers. */
export type BackboneFamily = 'vit' | 'convnext'

/** What the service needs to know of a backbone, read from its `config.json`. */
export interface BackboneConfig {
  modelType: string
  family: BackboneFamily
  /** C: the width of every token. */
  hiddenSize: number
  /** Pixels per grid cell: the ViT's patch, or the ConvNeXt's total stride. */
  patchSize: number
  registers: number
  /** Random weights made by this project: shown everywhere the model is. */
  synthetic: boolean
}

export interface ModelFolder {
  dir: string
  name: string
  config: BackboneConfig
  processor: Processor
  variant: string
  /** The ONNX file of the chosen variant; external data sits beside it. */
  onnxFile: string
}

export function readModelFolder (dir: string, variant: string): ModelFolder {
  const folder = resolve(dir)
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ModelFolderError(`model folder ${folder} does not exist`)
  }
  const configFile = join(folder, 'config.json')
  const processorFile = join(folder, 'preprocessor_config.json')
  return {
    dir: folder,
    name: basename(folder),
    config: parseBackboneConfig(readJson(configFile), configFile),
    processor: parseProcessor(readJson(processorFile), processorFile),
    variant,
    onnxFile: variantFile(folder, variant)
  }
}

/** `fp32` is `onnx/model.onnx`; any other variant is `onnx/model_<variant>.onnx`, as onnx-community names them. */
export function variantFile (folder: string, variant: string): string {
  const file = join(folder, onnxPathForVariant(variant))
  if (existsSync(file)) return file
  const available = listVariants(folder)
  throw new ModelFolderError(
    `${file} does not exist: variant "${variant}" is not in this folder` +
    (available.length > 0 ? ` (available: ${available.join(', ')}; set MODEL_VARIANT)` : ' (no onnx/model*.onnx files at all)')
  )
}

export function listVariants (folder: string): string[] {
  const onnxDir = join(folder, 'onnx')
  if (!existsSync(onnxDir)) return []
  return readdirSync(onnxDir)
    .map((file) => /^model(?:_(.+))?\.onnx$/.exec(file))
    .filter((match) => match !== null)
    .map((match) => match[1] ?? 'fp32')
    .sort()
}

/** ConvNeXt exports answer in the ViT's token layout: row 0 the pooled global token, then the stride-32 grid. */
const CONVNEXT_MODEL_TYPE = 'dinov3_convnext'

function parseBackboneConfig (raw: Record<string, unknown>, file: string): BackboneConfig {
  const modelType = typeof raw.model_type === 'string' ? raw.model_type : 'unknown'
  const common = { modelType, synthetic: raw.synthetic === true }
  if (modelType === CONVNEXT_MODEL_TYPE) return { ...common, ...parseConvNext(raw, file) }
  const integer = configInteger(file)
  if (raw.hidden_size === undefined && Array.isArray(raw.hidden_sizes)) {
    throw new ModelFolderError(`${file}: "hidden_size" is missing and "hidden_sizes" is there, as in a ConvNeXt; ` +
      `DINOv3 ConvNeXt folders say "model_type": "${CONVNEXT_MODEL_TYPE}" (this one says ${JSON.stringify(raw.model_type)})`)
  }
  // Hugging Face names these differently across ViT families; read the spellings in use.
  const registers = raw.num_register_tokens ?? raw.num_registers ?? 0
  return {
    ...common,
    family: 'vit',
    hiddenSize: integer('hidden_size', raw.hidden_size),
    patchSize: integer('patch_size', raw.patch_size),
    registers: integer('num_register_tokens', registers, 0)
  }
}

/**
 * DINOv3ConvNextModel: a 4×4 stride-4 stem, then a 2×2 stride-2 downsampling before each further stage, so the
 * grid's stride is 4·2^(stages−1) (32 for the four stages of every published size); C is the last stage's width.
 */
function parseConvNext (raw: Record<string, unknown>, file: string): Pick<BackboneConfig, 'family' | 'hiddenSize' | 'patchSize' | 'registers'> {
  const integer = configInteger(file)
  const sizes = raw.hidden_sizes
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new ModelFolderError(`${file}: a ${CONVNEXT_MODEL_TYPE} config needs "hidden_sizes", the channels of each stage ` +
      `(such as [96, 192, 384, 768]), found ${JSON.stringify(sizes)}`)
  }
  sizes.forEach((value, i) => integer(`hidden_sizes[${i}]`, value))
  if (raw.depths !== undefined && (!Array.isArray(raw.depths) || raw.depths.length !== sizes.length)) {
    throw new ModelFolderError(`${file}: "depths" must list one block count per stage, as "hidden_sizes" lists ` +
      `${sizes.length} stages, found ${JSON.stringify(raw.depths)}`)
  }
  const registers = raw.num_register_tokens ?? 0
  if (registers !== 0) {
    throw new ModelFolderError(`${file}: ${CONVNEXT_MODEL_TYPE} backbones have no register tokens, found "num_register_tokens": ${JSON.stringify(registers)}`)
  }
  return { family: 'convnext', hiddenSize: sizes[sizes.length - 1] as number, patchSize: 4 * 2 ** (sizes.length - 1), registers: 0 }
}

function configInteger (file: string): (key: string, value: unknown, min?: number) => number {
  return (key: string, value: unknown, min = 1): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new ModelFolderError(`${file}: "${key}" must be an integer ≥ ${min}, found ${JSON.stringify(value)}`)
    }
    return value
  }
}

export function readJson (file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ModelFolderError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ModelFolderError(`${file} is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFolderError(`${file} must hold a JSON object`)
  }
  return value as Record<string, unknown>
}
