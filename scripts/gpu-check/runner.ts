/**
 * The runner of scripts/gpu-check.sh, bundled by its --pack step into one file that needs only `node` and an
 * onnxruntime-node folder (so it runs where there is no npm and no network):
 *
 *   node runner.mjs model --out DIR                       writes the bench model (the ViT-S/16-sized synthetic one)
 *   node runner.mjs compare --model DIR --ort DIR [--cuda-ort DIR] [--providers cuda,webgpu,cpu] [--batch 8]
 *                           [--size 224] [--seconds 8] [--timeout 300]
 *                                                         runs each provider, prints img/s and max |diff| vs the CPU
 *   node runner.mjs one --provider P --ort DIR --model DIR --out FILE ...
 *                                                         one provider in one process: a crash stays in it
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type * as Ort from 'onnxruntime-node'
import type { ProviderName } from '../../src/config.js'
import { sessionOptions } from '../../src/inference/onnx-session.js'
import { writeSyntheticModel } from '../../src/synthetic/synthetic-model.js'

const PROVIDERS: ProviderName[] = ['cuda', 'webgpu', 'cpu']

/** What one provider's process reports on its last line of output. */
interface Measured {
  provider: ProviderName
  ortVersion: string
  loadSeconds: number
  firstRunSeconds: number
  /** Images a second and the median milliseconds of one run, at batch 1 and at the batch asked for. */
  single: { imagesPerSecond: number, p50Ms: number }
  batched: { imagesPerSecond: number, p50Ms: number }
  outputDims: number[]
}

type Outcome = { ok: true, measured: Measured, output: Float32Array } | { ok: false, provider: ProviderName, why: string }

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    model: { type: 'string' },
    ort: { type: 'string' },
    'cuda-ort': { type: 'string' },
    providers: { type: 'string', default: 'cuda,webgpu,cpu' },
    provider: { type: 'string' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '224' },
    seconds: { type: 'string', default: '8' },
    threads: { type: 'string', default: String(availableParallelism()) },
    timeout: { type: 'string', default: '300' }
  }
})

function need (name: keyof typeof values): string {
  const value = values[name]
  if (typeof value !== 'string' || value === '') fail(`--${name} is needed`)
  return value
}

function fail (message: string): never {
  process.stderr.write(`gpu-check: ${message}\n`)
  process.exit(2)
}

/** The same model as `npm run bench`'s (scripts/bench/fixtures.ts): seed 0, fused attention, external weights. */
function writeBenchModel (dir: string): void {
  writeSyntheticModel(dir, { preset: 'small', seed: 0, externalData: true, attention: 'fused', heads: false })
}

/** A fixed input every provider gets, so their answers can be compared value by value. */
function pixels (batch: number, size: number): Float32Array {
  return Float32Array.from({ length: batch * 3 * size * size }, (_, i) => 2 * Math.sin(i * 0.37 + Math.floor(i / 997)))
}

async function timed (run: () => Promise<unknown>, seconds: number): Promise<{ runs: number, seconds: number, p50Ms: number }> {
  const latencies: number[] = []
  const started = performance.now()
  while (performance.now() - started < seconds * 1000 || latencies.length < 3) {
    const t0 = performance.now()
    await run()
    latencies.push(performance.now() - t0)
  }
  latencies.sort((a, b) => a - b)
  return { runs: latencies.length, seconds: (performance.now() - started) / 1000, p50Ms: latencies[Math.floor(latencies.length / 2)] }
}

async function measureOne (): Promise<void> {
  const provider = need('provider') as ProviderName
  const ortDir = resolve(need('ort'))
  const [batch, size, seconds] = [Number(values.batch), Number(values.size), Number(values.seconds)]
  const ort = createRequire(import.meta.url)(ortDir) as typeof Ort
  const ortVersion = (JSON.parse(readFileSync(join(ortDir, 'package.json'), 'utf8')) as { version: string }).version
  const t0 = performance.now()
  const session = await ort.InferenceSession.create(join(need('model'), 'onnx', 'model.onnx'),
    sessionOptions(provider, { intraOpThreads: Number(values.threads), spinning: false }))
  const loadSeconds = (performance.now() - t0) / 1000
  const feeds = (n: number): Record<string, Ort.Tensor> => ({ pixel_values: new ort.Tensor('float32', pixels(n, size), [n, 3, size, size]) })
  const [one, many] = [feeds(1), feeds(batch)]
  const t1 = performance.now()
  const first = (await session.run(many)).last_hidden_state
  const firstRunSeconds = (performance.now() - t1) / 1000
  writeFileSync(need('out'), first.data as Float32Array)
  await session.run(one)
  const single = await timed(async () => session.run(one), seconds / 2)
  const batched = await timed(async () => session.run(many), seconds / 2)
  const measured: Measured = {
    provider,
    ortVersion,
    loadSeconds,
    firstRunSeconds,
    single: { imagesPerSecond: single.runs / single.seconds, p50Ms: single.p50Ms },
    batched: { imagesPerSecond: batched.runs * batch / batched.seconds, p50Ms: batched.p50Ms },
    outputDims: [...first.dims]
  }
  await session.release()
  process.stdout.write(`\n${JSON.stringify(measured)}\n`)
}

/** The provider's own process; what it could not do is said in a line, never as a stack trace. */
function runOne (provider: ProviderName, ortDir: string, work: string): Outcome {
  const native = join(ortDir, 'bin', 'napi-v6', 'linux', 'x64')
  if (provider === 'cuda' && !existsSync(join(native, 'libonnxruntime_providers_cuda.so'))) {
    return { ok: false, provider, why: `no libonnxruntime_providers_cuda.so in ${native} (make the pack without --no-cuda)` }
  }
  const out = join(work, `${provider}.f32`)
  const args = [fileURLToPath(import.meta.url), 'one', '--provider', provider, '--ort', ortDir, '--model', need('model'), '--out', out,
    '--batch', values.batch as string, '--size', values.size as string, '--seconds', values.seconds as string, '--threads', values.threads as string]
  process.stderr.write(`gpu-check: ${provider} (onnxruntime-node at ${ortDir}) ...\n`)
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: Number(values.timeout) * 1000, maxBuffer: 64 * 1024 * 1024 })
  const last = child.stdout.trim().split('\n').pop() ?? ''
  const report = last.startsWith('{') ? JSON.parse(last) as Measured | { error: string } : undefined
  if (report !== undefined && !('error' in report)) {
    return { ok: true, measured: report, output: new Float32Array(readFileSync(out).buffer.slice(0)) }
  }
  if (report !== undefined) {
    // ONNX Runtime logs which library failed and why (a missing libcublasLt.so.13, say); the exception only says that one did.
    const logged = child.stderr.split('\n').filter((l) => l.includes('[E:onnxruntime')).pop()
    const detail = logged === undefined ? '' : `; ONNX Runtime: ${oneLine(logged.replace(/^.*\[ONNXRuntimeError\] : \d+ : \w+ : /, ''))}`
    return { ok: false, provider, why: oneLine(report.error) + detail }
  }
  const how = child.error !== undefined
    ? `${(child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `over --timeout ${values.timeout as string} s` : child.error.message}`
    : child.signal !== null ? `crashed (${child.signal})` : `exit ${child.status}`
  return { ok: false, provider, why: `${how}; its last words: ${oneLine(lastWords(child.stderr))}` }
}

/** ONNX Runtime's messages start with its source location and the failed condition; the rest says what went wrong. */
function oneLine (message: string): string {
  // eslint-disable-next-line no-control-regex -- ONNX Runtime colours its messages with ANSI escapes
  return message.replace(/\u001b\[[0-9;]*m/g, '').replace(/\s+/g, ' ').replace(/^.*? was false\. /, '').trim().slice(0, 600)
}

/** The end of a child's stderr without ONNX Runtime's node-assignment notes and Dawn's limit warnings. */
function lastWords (stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/VerifyEachNodeIsAssignedToAnEp|^Warning: /.test(l))
  return lines.slice(-3).join(' ') || 'nothing'
}

const fmt = (n: number, digits = 1): string => n >= 100 ? n.toFixed(0) : n.toFixed(digits)

function compare (): void {
  const providers = (values.providers as string).split(',').map((p) => p.trim()).filter((p) => p !== '')
  for (const p of providers) if (!(PROVIDERS as string[]).includes(p)) fail(`--providers takes ${PROVIDERS.join(', ')}, got ${p}`)
  // The CPU answer is the reference: it runs first, whether or not it was named.
  const order = ['cpu', ...providers.filter((p) => p !== 'cpu')] as ProviderName[]
  const work = mkdtempSync(join(tmpdir(), 'gpu-check-'))
  const outcomes = order.map((p) => runOne(p, resolve(p === 'cuda' && values['cuda-ort'] !== undefined ? values['cuda-ort'] : need('ort')), work))
  rmSync(work, { recursive: true, force: true })

  const cpu = outcomes[0]
  const scale = cpu.ok ? cpu.output.reduce((m, v) => Math.max(m, Math.abs(v)), 0) : NaN
  const rows = [['provider', 'onnxruntime', 'load s', 'first run s', 'img/s b=1', 'p50 ms b=1', `img/s b=${values.batch as string}`,
    `p50 ms b=${values.batch as string}`, 'vs cpu', 'max |diff| vs cpu']]
  for (const o of outcomes) {
    if (!o.ok) continue
    const m = o.measured
    const diff = cpu.ok ? maxAbsDiff(o.output, cpu.output) : NaN
    rows.push([m.provider, m.ortVersion, fmt(m.loadSeconds, 2), fmt(m.firstRunSeconds, 2), fmt(m.single.imagesPerSecond),
      fmt(m.single.p50Ms, 2), fmt(m.batched.imagesPerSecond), fmt(m.batched.p50Ms, 2),
      cpu.ok ? `${(m.batched.imagesPerSecond / cpu.measured.batched.imagesPerSecond).toFixed(2)}x` : '-',
      Number.isNaN(diff) ? '-' : diff.toExponential(2)])
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  const line = (r: string[]): string => r.map((cell, c) => c === 0 || c === 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join('  ')
  const dims = outcomes.find((o): o is Extract<Outcome, { ok: true }> => o.ok)?.measured.outputDims
  console.log(`\nbench model: ${need('model')} (synthetic ViT-S/16 size, random weights); input [${values.batch as string}, 3, ` +
    `${values.size as string}, ${values.size as string}] -> last_hidden_state [${dims?.join(', ') ?? '?'}]; ` +
    `${values.threads as string} CPU threads; largest |value| on CPU ${Number.isNaN(scale) ? '?' : scale.toFixed(3)}\n`)
  console.log(rows.map(line).join('\n'))
  for (const o of outcomes) if (!o.ok) console.log(`\n${o.provider}: could not run: ${o.why}`)
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.provider)
  console.log(failed.length === 0 ? '\nall providers ran' : `\nnot run: ${failed.join(', ')} (see above)`)
  process.exitCode = failed.length === 0 ? 0 : 1
}

function maxAbsDiff (a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

const command = positionals[0]
if (command === 'model') writeBenchModel(need('out'))
else if (command === 'one') {
  await measureOne().catch((error: Error) => {
    process.stdout.write(`\n${JSON.stringify({ error: error.message })}\n`)
    process.exitCode = 1
  })
} else if (command === 'compare') compare()
else fail('usage: runner.mjs model --out DIR | compare --model DIR --ort DIR [--cuda-ort DIR] [--providers cuda,webgpu,cpu] | one ...')
