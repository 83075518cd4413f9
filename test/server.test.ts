import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cudaProviderInstalled } from '../src/inference/onnx-session.js'
import { syntheticModel } from './helpers/models.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

interface Run { code: number | null, log: string, stderr: string }

/** src/server.ts as `npm start` runs it; killed once `until` sees what it waits for in the log, or when it exits. */
function runServer (env: Record<string, string>, until: (log: string) => boolean = () => false): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: repoRoot,
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', WARMUP: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let log = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8')
      if (until(log)) child.kill('SIGKILL')
    })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, log, stderr })
    })
  })
}

t.test('a provider list that cannot load stops the start before the server says it listens, and suggests cpu', {
  skip: cudaProviderInstalled() ? 'the CUDA provider is installed here, so cuda may load' : false
}, async (t) => {
  const model = syntheticModel({ preset: 'tiny' })
  const failed = await runServer({ MODEL: model, EXECUTION_PROVIDERS: 'cuda' })
  t.equal(failed.code, 1)
  t.match(failed.stderr, /cannot serve the model: .*EXECUTION_PROVIDERS=cuda\b.*Set EXECUTION_PROVIDERS=cuda,cpu to serve on CPU/)
  t.notMatch(failed.stderr, /\n\s+at /, 'no stack trace')
  t.match(failed.log, /"level":60.*the model failed to load/, 'the failure is in the log')
  t.notMatch(failed.log, /Server listening/, 'never announced a port it would not serve on')

  // The same start with the fallback listed serves, on CPU: the log above was read the way this one is.
  const served = await runServer({ MODEL: model, EXECUTION_PROVIDERS: 'cuda,cpu' }, (log) => /model loaded/.test(log))
  t.match(served.log, /Server listening/)
  t.match(served.log, /"provider":"cpu".*model loaded/)
})
