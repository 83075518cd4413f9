/**
 * npm run model:synthetic -- [--family vit|convnext] [--out models/synthetic-small] [--preset tiny|small|base]
 *   [--patch 16] [--registers 4] [--attention plain|fused] (vit) [--hidden-sizes 24,48,96,192] [--depths 1,1,2,1] (convnext)
 *   [--seed 0] [--image-size 224] [--satellite] [--inline] [--variants fp16,quantized] [--classes 8] [--categories 0]
 *   [--no-heads]
 *
 * Writes a model folder in the Hugging Face layout with random weights, marked synthetic everywhere it shows.
 */
import { commandLineMistake, parseCommandLine } from './command-line.js'
import { backbonePresets, type BackbonePreset } from '../src/synthetic/backbone-spec.js'
import { SATELLITE_MEAN, SATELLITE_STD, writeSyntheticModel } from '../src/synthetic/synthetic-model.js'

const USAGE = `usage: npm run model:synthetic -- [--family vit|convnext] [--out models/synthetic-small] [--preset tiny|small|base]
         [--seed 0] [--image-size 224] [--satellite] [--inline] [--variants fp16,quantized] [--classes 8] [--categories 0]
         [--no-heads]
  vit (default):  [--patch 16] [--registers 4] [--attention plain|fused]
  convnext:       [--hidden-sizes 24,48,96,192] [--depths 1,1,2,1]   (stride 32 with four stages, no registers)

  --categories K   also write heads/classification: a linear classification head with K classes (0: none)`

const { values } = parseCommandLine(USAGE, {
  options: {
    family: { type: 'string', default: 'vit' },
    out: { type: 'string' },
    preset: { type: 'string', default: 'small' },
    patch: { type: 'string' },
    registers: { type: 'string' },
    attention: { type: 'string' },
    'hidden-sizes': { type: 'string' },
    depths: { type: 'string' },
    seed: { type: 'string', default: '0' },
    'image-size': { type: 'string', default: '224' },
    satellite: { type: 'boolean', default: false },
    inline: { type: 'boolean', default: false },
    variants: { type: 'string', default: '' },
    classes: { type: 'string', default: '8' },
    categories: { type: 'string', default: '0' },
    'no-heads': { type: 'boolean', default: false }
  }
})

function integer (name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${value}`)
  return n
}

function integers (name: string, value: string | undefined): number[] | undefined {
  return value?.split(',').map((part) => integer(name, part) as number)
}

const positive = (n: number | undefined): number | undefined => n === undefined || n === 0 ? undefined : n

function fail (message: string): never {
  return commandLineMistake(USAGE, message)
}

const family = values.family
if (family !== 'vit' && family !== 'convnext') fail(`--family takes vit or convnext, got ${family}`)
const preset = values.preset as BackbonePreset
if (!(preset in backbonePresets)) fail(`--preset must be one of ${Object.keys(backbonePresets).join(', ')}`)
const attention = values.attention ?? 'plain'
if (attention !== 'plain' && attention !== 'fused') fail(`--attention takes plain or fused, got ${attention}`)
const variants = values.variants.split(',').filter((v) => v !== '')
for (const v of variants) if (v !== 'fp16' && v !== 'quantized') fail(`--variants takes fp16 and quantized, got ${v}`)
const familyOptions = family === 'vit' ? ['hidden-sizes', 'depths'] as const : ['patch', 'registers', 'attention'] as const
for (const option of familyOptions) if (values[option] !== undefined) fail(`--${option} does not apply to --family ${family}`)
const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined))
const out = values.out ?? (family === 'vit' ? `models/synthetic-${preset}` : `models/synthetic-convnext-${preset}`)

const started = performance.now()
let model
try {
  model = writeSyntheticModel(out, {
    family,
    preset,
    spec: defined({ patchSize: integer('patch', values.patch), registers: integer('registers', values.registers) }),
    convnext: defined({ hiddenSizes: integers('hidden-sizes', values['hidden-sizes']), depths: integers('depths', values.depths) }),
    seed: integer('seed', values.seed),
    imageSize: integer('image-size', values['image-size']),
    mean: values.satellite ? SATELLITE_MEAN : undefined,
    std: values.satellite ? SATELLITE_STD : undefined,
    externalData: !values.inline,
    variants: variants as Array<'fp16' | 'quantized'>,
    attention,
    heads: values['no-heads'] ? false : { classes: integer('classes', values.classes) ?? 8, classification: positive(integer('categories', values.categories)) }
  })
} catch (error) {
  fail((error as Error).message)
}
const { grid } = model
const shape = model.family === 'vit' ? `ViT, patch ${grid.patchSize}` : `ConvNeXt [${model.spec.hiddenSizes.join(', ')}], stride ${grid.patchSize}`
process.stdout.write(`wrote a SYNTHETIC ${preset} model (random weights, seed ${model.seed}; ${shape}, ` +
  `${grid.registers} registers, ${grid.hiddenSize} dims) to ${out} in ${Math.round(performance.now() - started)} ms\n` +
  `serve it with: MODEL=${out} npm start\n`)
