import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { Backbone } from '../../src/inference/backbone.js'
import { ModelFolderError, readModelFolder } from '../../src/inference/model-folder.js'
import { writeSyntheticModel } from '../../src/synthetic/synthetic-model.js'
import { scratchDir } from '../helpers/models.js'
import { startOrtHost } from '../helpers/ort-host.js'

const settings = { providers: ['cpu' as const], intraOpThreads: 1, spinning: false }
const quiet = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }

const source = scratchDir(t)
writeSyntheticModel(source, { family: 'convnext', preset: 'tiny', seed: 2 })

/** A fresh copy of one tiny ConvNeXt folder whose config.json `edit` changes. */
function editedConvNext (test: Test, edit: (config: Record<string, unknown>) => void): string {
  const dir = scratchDir(test)
  cpSync(source, dir, { recursive: true })
  const file = join(dir, 'config.json')
  const config = JSON.parse(readFileSync(file, 'utf8'))
  edit(config)
  writeFileSync(file, JSON.stringify(config))
  return dir
}

t.test('a dinov3_convnext config.json reads as C = hidden_sizes[-1], stride 32, no registers', async (t) => {
  const folder = readModelFolder(editedConvNext(t, () => {}), 'fp32')
  t.match(folder.config, { modelType: 'dinov3_convnext', family: 'convnext', hiddenSize: 192, patchSize: 32, registers: 0, synthetic: true })
  // A real export's config carries no synthetic marks and nothing the service needs beyond hidden_sizes.
  const real = readModelFolder(editedConvNext(t, (c) => {
    for (const key of Object.keys(c)) if (key.startsWith('synthetic') || key === 'depths') delete c[key]
  }), 'fp32')
  t.match(real.config, { family: 'convnext', hiddenSize: 192, patchSize: 32, registers: 0, synthetic: false })
})

t.test('a malformed ConvNeXt config stops the start with a message naming config.json and the problem', async (t) => {
  const cases: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
    ['no hidden_sizes', (c) => { delete c.hidden_sizes }, /config\.json: a dinov3_convnext config needs "hidden_sizes", the channels of each stage \(such as \[96, 192, 384, 768\]\), found undefined/],
    ['empty hidden_sizes', (c) => { c.hidden_sizes = [] }, /needs "hidden_sizes".*found \[\]/],
    ['hidden_sizes not a list', (c) => { c.hidden_sizes = 768 }, /needs "hidden_sizes".*found 768/],
    ['a fractional width', (c) => { c.hidden_sizes = [24, 48, 96.5, 192] }, /config\.json: "hidden_sizes\[2\]" must be an integer ≥ 1, found 96\.5/],
    ['a width as text', (c) => { c.hidden_sizes = [24, 48, 96, '192'] }, /"hidden_sizes\[3\]" must be an integer ≥ 1, found "192"/],
    ['depths for other stages', (c) => { c.depths = [3, 3, 9] }, /config\.json: "depths" must list one block count per stage, as "hidden_sizes" lists 4 stages, found \[3,3,9\]/],
    ['registers', (c) => { c.num_register_tokens = 4 }, /config\.json: dinov3_convnext backbones have no register tokens, found "num_register_tokens": 4/]
  ]
  for (const [name, edit, message] of cases) {
    const dir = editedConvNext(t, edit)
    t.throws(() => readModelFolder(dir, 'fp32'), ModelFolderError, name)
    t.throws(() => readModelFolder(dir, 'fp32'), { message }, name)
  }
  // The same refusal stops the app from being built at all.
  const broken = editedConvNext(t, (c) => { delete c.hidden_sizes })
  await t.rejects(buildApp(loadConfig({ MODEL: broken, LOG_LEVEL: 'silent' }), { logger: false }), { message: /needs "hidden_sizes"/ })
})

t.test('a ConvNeXt folder with another model_type is told what to write instead of "hidden_size must be an integer"', async (t) => {
  const dir = editedConvNext(t, (c) => { c.model_type = 'convnext' })
  t.throws(() => readModelFolder(dir, 'fp32'), {
    message: /"hidden_size" is missing and "hidden_sizes" is there, as in a ConvNeXt; DINOv3 ConvNeXt folders say "model_type": "dinov3_convnext" \(this one says "convnext"\)/
  })
})

t.test('a config that disagrees with the graph is refused at load, in the ConvNeXt\'s words', async (t) => {
  const load = async (dir: string): Promise<string> => {
    const error = await Backbone.load(await startOrtHost(t), readModelFolder(dir, 'fp32'), settings, quiet).then(() => undefined, (e: Error) => e)
    t.type(error, ModelFolderError)
    return error?.message ?? 'loaded'
  }
  t.match(await load(editedConvNext(t, (c) => { c.hidden_sizes = [24, 48, 96, 384] })),
    /last_hidden_state has 192 channels but config\.json's hidden_sizes ends with 384/)
  // Three stages would mean stride 16: the 48×32 probe then gives the graph's one cell at its real stride 32, not 2×3.
  t.match(await load(editedConvNext(t, (c) => { c.hidden_sizes = [48, 96, 192]; delete c.depths })),
    /a 48×32 input gave 2 tokens; config\.json \(dinov3_convnext, stride 16: a pooled token then the 2×3 grid\) implies 1 \+ 6 = 7/)
})
