import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startFakeHub } from './fake-hub.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli (args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const childEnv = { ...process.env, ...env }
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key]
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/pull-model.ts', ...args],
      { cwd: repoRoot, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      }
    )
  })
}

t.test('the CLI pulls a model and says how to serve it', async (t) => {
  const hub = await startFakeHub()
  t.teardown(() => hub.close())
  const dir = t.testdir()
  const run = await runCli([hub.repoId, '--variant', 'fp16', '--dir', dir], {
    HF_ENDPOINT: hub.endpoint,
    HF_TOKEN: undefined,
  })
  t.equal(run.code, 0, run.stderr)
  const modelDir = join(dir, 'tiny-dinov3-ONNX')
  for (const path of ['config.json', 'preprocessor_config.json', 'onnx/model_fp16.onnx']) {
    t.same(await readFile(join(modelDir, path)), hub.files.find((file) => file.path === path)!.content, path)
  }
  t.match(run.stdout, `serve it with: MODEL=${relative(repoRoot, modelDir)} MODEL_VARIANT=fp16 npm start`, 'names the variant, since the folder has no onnx/model.onnx')
  t.match(run.stderr, /fetching onnx\/model_fp16\.onnx/, 'plain progress lines when stderr is not a TTY')
})

t.test('the CLI fails cleanly, without a stack, on a gated repo', async (t) => {
  const hub = await startFakeHub({ switches: { requireToken: 'hf_good' } })
  t.teardown(() => hub.close())
  const run = await runCli([hub.repoId, '--dir', t.testdir()], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: undefined })
  t.equal(run.code, 1)
  t.match(run.stderr, `error: model ${hub.repoId} on ${hub.endpoint} is gated or private: set HF_TOKEN to a token with access`)
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  t.equal(run.stdout, '')
})

t.test('the CLI rejects a bad command line with usage', async (t) => {
  const run = await runCli(['--varient', 'fp16'], { HF_ENDPOINT: 'http://127.0.0.1:9' })
  t.equal(run.code, 2)
  t.match(run.stderr, /error: Unknown option '--varient'/)
  t.match(run.stderr, /usage: npm run model:pull --/)
})

t.test('without --dir the CLI pulls into MODELS_DIR, the folder the server reads; --dir wins over it', async (t) => {
  const hub = await startFakeHub()
  t.teardown(() => hub.close())
  const root = t.testdir({ models: {}, other: {}, elsewhere: {} })
  const config = hub.files.find((file) => file.path === 'config.json')!.content
  const env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: undefined }

  const modelsDir = join(root, 'models')
  const intoModelsDir = await runCli([hub.repoId, '--variant', 'fp16'], { ...env, MODELS_DIR: modelsDir })
  t.equal(intoModelsDir.code, 0, intoModelsDir.stderr)
  t.same(await readFile(join(modelsDir, 'tiny-dinov3-ONNX', 'config.json')), config)
  t.match(intoModelsDir.stdout, `model ready in ${relative(repoRoot, join(modelsDir, 'tiny-dinov3-ONNX'))}`)

  const otherModelsDir = join(root, 'other')
  const elsewhere = join(root, 'elsewhere')
  const intoDir = await runCli([hub.repoId, '--variant', 'fp16', '--dir', elsewhere], { ...env, MODELS_DIR: otherModelsDir })
  t.equal(intoDir.code, 0, intoDir.stderr)
  t.same(await readFile(join(elsewhere, 'tiny-dinov3-ONNX', 'config.json')), config)
  t.same(readdirSync(otherModelsDir), [], 'MODELS_DIR untouched when --dir is given')
})
