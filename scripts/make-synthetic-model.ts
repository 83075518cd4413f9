/**
 * npm run model:synthetic -- [--out models/synthetic-small] [--preset tiny|small|base] [--patch 16] [--registers 4]
 *   [--seed 0] [--image-size 224] [--satellite] [--inline] [--variants fp16,quantized] [--classes 8] [--categories 0]
 *   [--no-heads] [--attention plain|fused]
 *
 * Writes a model folder in the Hugging Face layout with random weights, marked synthetic everywhere it shows.
 */
import { commandLineMistake, parseCommandLine } from './command-line.js'
import { backbonePresets, type BackbonePreset } from '../src/synthetic/backbone-spec.js'
import { SATELLITE_MEAN, SATELLITE_STD, writeSyntheticModel } from '../src/synthetic/synthetic-model.js'

const USAGE = `usage: npm run model:synthetic -- [--out models/synthetic-small] [--preset tiny|small|base] [--patch 16]
         [--registers 4] [--seed 0] [--image-size 224] [--satellite] [--inline] [--variants fp16,quantized]
         [--classes 8] [--categories 0] [--no-heads] [--attention plain|fused]

  --categories K   also write heads/classification: a linear classification head with K classes (0: none)`

const { values } = parseCommandLine(USAGE, {
  options: {
    out: { type: 'string' },
    preset: { type: 'string', default: 'small' },
    patch: { type: 'string' },
    registers: { type: 'string' },
    seed: { type: 'string', default: '0' },
    'image-size': { type: 'string', default: '224' },
    satellite: { type: 'boolean', default: false },
    inline: { type: 'boolean', default: false },
    variants: { type: 'string', default: '' },
    classes: { type: 'string', default: '8' },
    categories: { type: 'string', default: '0' },
    'no-heads': { type: 'boolean', default: false },
    attention: { type: 'string', default: 'plain' }
  }
})

function integer (name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${value}`)
  return n
}

const positive = (n: number | undefined): number | undefined => n === undefined || n === 0 ? undefined : n

function fail (message: string): never {
  return commandLineMistake(USAGE, message)
}

const preset = values.preset as BackbonePreset
if (!(preset in backbonePresets)) fail(`--preset must be one of ${Object.keys(backbonePresets).join(', ')}`)
if (values.attention !== 'plain' && values.attention !== 'fused') fail(`--attention takes plain or fused, got ${values.attention}`)
const variants = values.variants.split(',').filter((v) => v !== '')
for (const v of variants) if (v !== 'fp16' && v !== 'quantized') fail(`--variants takes fp16 and quantized, got ${v}`)
const spec = Object.fromEntries(Object.entries({ patchSize: integer('patch', values.patch), registers: integer('registers', values.registers) })
  .filter(([, v]) => v !== undefined))
const out = values.out ?? `models/synthetic-${preset}`

const started = performance.now()
const model = writeSyntheticModel(out, {
  preset,
  spec,
  seed: integer('seed', values.seed),
  imageSize: integer('image-size', values['image-size']),
  mean: values.satellite ? SATELLITE_MEAN : undefined,
  std: values.satellite ? SATELLITE_STD : undefined,
  externalData: !values.inline,
  variants: variants as Array<'fp16' | 'quantized'>,
  attention: values.attention as 'plain' | 'fused',
  heads: values['no-heads'] ? false : { classes: integer('classes', values.classes) ?? 8, classification: positive(integer('categories', values.categories)) }
})
process.stdout.write(`wrote a SYNTHETIC ${preset} model (random weights, seed ${model.seed}; patch ${model.spec.patchSize}, ` +
  `${model.spec.registers} registers, ${model.spec.hiddenSize} dims) to ${out} in ${Math.round(performance.now() - started)} ms\n` +
  `serve it with: MODEL=${out} npm start\n`)
