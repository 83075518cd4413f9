import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { ModelFolderError } from './model-folder-error.js'
import { type Processor, parseProcessor } from './processor.js'
import { onnxPathForVariant } from '../hub/variant-files.js'

export { ModelFolderError }

/** What the service needs to know of a backbone, read from its `config.json`. */
export interface BackboneConfig {
  modelType: string
  hiddenSize: number
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

function parseBackboneConfig (raw: Record<string, unknown>, file: string): BackboneConfig {
  const positiveInteger = (key: string, value: unknown, min = 1): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new ModelFolderError(`${file}: "${key}" must be an integer ≥ ${min}, found ${JSON.stringify(value)}`)
    }
    return value
  }
  // Hugging Face names these differently across ViT families; read the spellings in use.
  const registers = raw.num_register_tokens ?? raw.num_registers ?? 0
  return {
    modelType: typeof raw.model_type === 'string' ? raw.model_type : 'unknown',
    hiddenSize: positiveInteger('hidden_size', raw.hidden_size),
    patchSize: positiveInteger('patch_size', raw.patch_size),
    registers: positiveInteger('num_register_tokens', registers, 0),
    synthetic: raw.synthetic === true
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
