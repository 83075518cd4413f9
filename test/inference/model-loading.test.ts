import { execFile } from 'node:child_process'
import type { Test } from 'tap'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { Backbone } from '../../src/inference/backbone.js'
import type { OrtHost } from '../../src/inference/ort-worker/ort-host.js'
import { findModelFolder } from '../../src/inference/find-model.js'
import { ModelFolderError, readModelFolder } from '../../src/inference/model-folder.js'
import { writeOnnx } from '../../src/synthetic/write-onnx.js'
import { GraphBuilder } from '../../src/synthetic/onnx-builder.js'
import { writeSyntheticModel } from '../../src/synthetic/synthetic-model.js'
import { scratchDir } from '../helpers/models.js'
import { maxAbsDiff } from '../helpers/reference.js'
import { startOrtHost } from '../helpers/ort-host.js'

const settings = { providers: ['cpu'] as const, intraOpThreads: 1, spinning: false }
const quiet = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }

function copyOf (t: Test, source: string): string {
  const dir = scratchDir(t)
  cpSync(source, dir, { recursive: true })
  return dir
}

function editJson (file: string, edit: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(file, 'utf8'))
  edit(value)
  writeFileSync(file, JSON.stringify(value))
}

async function loadError (host: OrtHost, dir: string, variant = 'fp32'): Promise<string> {
  try {
    await Backbone.load(host, readModelFolder(dir, variant), { ...settings, providers: ['cpu'] }, quiet)
  } catch (error) {
    t.type(error, ModelFolderError)
    return (error as Error).message
  }
  throw new Error('expected the model to be refused')
}

const base = (t: Test): string => {
  const dir = scratchDir(t)
  writeSyntheticModel(dir, { preset: 'tiny', seed: 4, externalData: true, variants: ['fp16', 'quantized'] })
  return dir
}

t.test('external data: loads, and answers exactly as the inline model', async (t) => {
  const external = base(t)
  const inline = join(scratchDir(t), 'inline')
  writeSyntheticModel(inline, { preset: 'tiny', seed: 4 })
  const pixels = Float32Array.from({ length: 3 * 32 * 48 }, (_, i) => Math.sin(i))
  const answers = []
  for (const dir of [external, inline]) {
    const backbone = await Backbone.load(await startOrtHost(t), readModelFolder(dir, 'fp32'), { ...settings, providers: ['cpu'] }, quiet)
    answers.push((await backbone.run(pixels.slice(), 1, 32, 48)).data)
    await backbone.release()
  }
  t.equal(maxAbsDiff(answers[0], answers[1]), 0)
})

t.test('variants: fp16 (float16 in and out) and int8 quantized answer close to fp32', async (t) => {
  const dir = base(t)
  const pixels = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i / 7))
  const outputs: Record<string, Float32Array> = {}
  for (const variant of ['fp32', 'fp16', 'quantized']) {
    const folder = readModelFolder(dir, variant)
    t.match(folder.onnxFile, variant === 'fp32' ? /onnx\/model\.onnx$/ : new RegExp(`onnx/model_${variant}\\.onnx$`))
    const backbone = await Backbone.load(await startOrtHost(t), folder, { ...settings, providers: ['cpu'] }, quiet)
    outputs[variant] = (await backbone.run(pixels.slice(), 1, 64, 64)).data
    await backbone.release()
  }
  const cosine = (a: Float32Array, b: Float32Array): number => {
    let dot = 0; let na = 0; let nb = 0
    for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
    return dot / Math.sqrt(na * nb)
  }
  t.ok(cosine(outputs.fp32, outputs.fp16) > 0.999, 'fp16 ≈ fp32')
  t.ok(cosine(outputs.fp32, outputs.quantized) > 0.98, 'int8 ≈ fp32')
  t.ok(maxAbsDiff(outputs.fp32, outputs.fp16) > 0, 'fp16 really ran in half precision I/O')
})

t.test('broken folders are refused with a message naming the file and the problem', async (t) => {
  // One inference thread for every refusal: what differs between the cases is the folder, not the thread.
  const host = await startOrtHost(t)
  t.throws(() => readModelFolder('/nonexistent/model', 'fp32'), { message: /model folder \/nonexistent\/model does not exist/ })

  const noConfig = copyOf(t, base(t))
  rmSync(join(noConfig, 'config.json'))
  t.throws(() => readModelFolder(noConfig, 'fp32'), { message: /cannot read .*config\.json: ENOENT/ })

  const badJson = copyOf(t, base(t))
  writeFileSync(join(badJson, 'preprocessor_config.json'), '{"size": ')
  t.throws(() => readModelFolder(badJson, 'fp32'), { message: /preprocessor_config\.json is not valid JSON/ })

  const noHidden = copyOf(t, base(t))
  editJson(join(noHidden, 'config.json'), (c) => { delete c.hidden_size })
  t.throws(() => readModelFolder(noHidden, 'fp32'), { message: /config\.json: "hidden_size" must be an integer/ })

  const dir = base(t)
  t.throws(() => readModelFolder(dir, 'q4'), { message: /model_q4\.onnx does not exist.*available: fp16, fp32, quantized; set MODEL_VARIANT/ })

  const noData = copyOf(t, base(t))
  rmSync(join(noData, 'onnx', 'model.onnx_data'))
  t.match(await loadError(host, noData), /cannot load .*model\.onnx: .*model\.onnx_data/)

  const wrongWidth = copyOf(t, base(t))
  editJson(join(wrongWidth, 'config.json'), (c) => { c.hidden_size = 64 })
  t.match(await loadError(host, wrongWidth), /last_hidden_state has 32 channels but config\.json says hidden_size 64/)

  const wrongRegisters = copyOf(t, base(t))
  editJson(join(wrongRegisters, 'config.json'), (c) => { c.num_register_tokens = 2 })
  t.match(await loadError(host, wrongRegisters), /gave 11 tokens; config\.json \(patch_size 16, num_register_tokens 2\) implies 1 \+ 2 \+ 6 = 9/)

  const wrongPatch = copyOf(t, base(t))
  editJson(join(wrongPatch, 'config.json'), (c) => { c.patch_size = 8 })
  t.match(await loadError(host, wrongPatch), /patch_size 8/)

  const wrongInput = copyOf(t, base(t))
  const graph = new GraphBuilder('not_a_backbone')
  graph.input('image', 'float32', [1, 3, 32, 32])
  graph.op1('Identity', ['image'], {}, 'last_hidden_state')
  graph.output('last_hidden_state', 'float32', [1, 3, 32, 32])
  writeOnnx(graph, join(wrongInput, 'onnx', 'model.onnx'), false)
  t.match(await loadError(host, wrongInput), /no "pixel_values" input \(inputs: image\)/)

  const garbage = copyOf(t, base(t))
  writeFileSync(join(garbage, 'onnx', 'model.onnx'), 'not a protobuf')
  t.match(await loadError(host, garbage), /cannot load .*model\.onnx: .*Protobuf parsing failed/)
})

t.test('which folder serves: MODEL as a path or a name under MODELS_DIR, else the first there, else none', async (t) => {
  const modelsDir = scratchDir(t)
  t.equal(findModelFolder(undefined, modelsDir), undefined, 'empty: none')
  t.equal(findModelFolder(undefined, join(modelsDir, 'missing')), undefined, 'missing MODELS_DIR: none')
  mkdirSync(join(modelsDir, 'b-model'))
  writeFileSync(join(modelsDir, 'b-model', 'config.json'), '{}')
  mkdirSync(join(modelsDir, 'a-empty'))
  mkdirSync(join(modelsDir, 'c-model'))
  writeFileSync(join(modelsDir, 'c-model', 'config.json'), '{}')
  t.equal(findModelFolder(undefined, modelsDir), join(modelsDir, 'b-model'), 'the first folder with a config.json')
  t.equal(findModelFolder('c-model', modelsDir), join(modelsDir, 'c-model'), 'a name under MODELS_DIR')
  t.equal(findModelFolder(join(modelsDir, 'c-model'), '/elsewhere'), join(modelsDir, 'c-model'), 'a path')
  t.throws(() => findModelFolder('nope', modelsDir), { message: /MODEL=nope: no model folder with a config\.json/ })
})

t.test('the server refuses to start on a broken folder with a clear message and no stack trace', async (t) => {
  const dir = copyOf(t, base(t))
  editJson(join(dir, 'config.json'), (c) => { c.hidden_size = 48 })
  for (const [env, message] of [
    [{ MODEL: '/nonexistent/model' }, /MODEL=\/nonexistent\/model: no model folder/],
    [{ MODEL: dir, PORT: '0' }, /cannot serve the model: .*hidden_size 48/],
    [{ MODEL: dir, PORT: 'eighty' }, /invalid configuration: PORT=eighty is not a number/]
  ] as const) {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
      timeout: 30_000
    }).then(() => ({ code: 0, stderr: '' }), (error: { code: number, stderr: string }) => error)
    t.equal(result.code, 1, `exit 1 for ${JSON.stringify(env)}`)
    t.match(result.stderr, message)
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
  }
})
