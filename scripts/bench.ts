/**
 * npm run bench -- [--only embed,features,tiled,growth,peer,variants,preprocess,fit,gpu] [--quick] [--seconds 24] [--rounds 6]
 *                  [--warmup-seconds 30]
 *                  [--concurrencies 1,4,8,16] [--env KEY=VALUE ...] [--no-write]
 *
 * Measures the service against the raw ONNX Runtime ceiling, against itself as images grow, and against
 * transformers.js, in one run on the ViT-S/16-sized synthetic model, and writes BENCHMARKS.md (with machine, date and
 * command; the part kept by hand, below its marker, stays) and bench-results/latest.json. --quick shrinks windows and
 * sizes to check that every section works end to end in a few minutes; its numbers are not for quoting.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { commandLineMistake, parseCommandLine } from './command-line.js'
import { benchDir, benchModel } from './bench/fixtures.js'
import { describeMachine } from './bench/machine.js'
import { renderReport, withHandKept, type BenchResults } from './bench/report.js'
import { embedThroughput } from './bench/sections/embed-throughput.js'
import { featuresThroughput } from './bench/sections/features-throughput.js'
import { fitBenchmark } from './bench/sections/fit.js'
import { detectGpu } from './bench/sections/gpu.js'
import { peerTransformers } from './bench/sections/peer-transformers.js'
import { preprocessingTimes } from './bench/sections/preprocessing.js'
import { tiledGrowth } from './bench/sections/tiled-growth.js'
import { tiledSegment } from './bench/sections/tiled-segment.js'
import { variants } from './bench/sections/variants.js'

const allSections = ['gpu', 'embed', 'features', 'peer', 'variants', 'preprocess', 'tiled', 'growth', 'fit']

const USAGE = `usage: npm run bench -- [--only ${allSections.join(',')}] [--quick] [--seconds 24] [--rounds 6] [--warmup-seconds 30]
                      [--concurrencies 1,4,8,16] [--env KEY=VALUE ...] [--no-write]`

const { values } = parseCommandLine(USAGE, {
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    'warmup-seconds': { type: 'string' },
    concurrencies: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    'no-write': { type: 'boolean', default: false }
  }
})
const sections = new Set(values.only?.split(',') ?? allSections)
const unknown = [...sections].filter((s) => !allSections.includes(s))
if (unknown.length > 0) commandLineMistake(USAGE, `unknown section ${unknown.join(', ')}: use ${allSections.join(', ')}`)
const quick = values.quick
// Seconds and rounds of the alternating throughput comparisons (embed, features, peer, variants).
const seconds = Number(values.seconds ?? (quick ? 4 : 24))
const rounds = Number(values.rounds ?? (quick ? 2 : 6))
// Serving before the /embed and /features rows are measured: until the JIT and the batch sizer have settled.
const warmupSeconds = Number(values['warmup-seconds'] ?? (quick ? 2 : 30))
const env = Object.fromEntries(values.env.map((pair) => pair.split('=') as [string, string]))
// Client concurrencies of the /embed and /features rows.
const concurrencies = (values.concurrencies ?? '1,4,8,16').split(',').map(Number)

const model = benchModel()
const results: BenchResults = {
  machine: describeMachine(env),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  quick
}
const log = (message: string): void => { process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${message}\n`) }
// Sections take minutes (the 8192² request alone several): what is done survives a later failure.
const keep = (): void => {
  if (values['no-write']) return
  mkdirSync(benchDir, { recursive: true })
  writeFileSync(join(benchDir, 'partial.json'), JSON.stringify(results, null, 2))
}

for (const section of allSections.filter((s) => sections.has(s))) {
  const started = performance.now()
  switch (section) {
    case 'gpu':
      results.gpu = detectGpu()
      break
    case 'embed':
      log('/embed against the raw session at 224²')
      results.embed = await embedThroughput(model, { seconds, rounds, warmupSeconds, concurrencies, batches: [1, 2, 4, 8], env })
      break
    case 'features':
      log('/features against the raw session at 512²')
      results.features = await featuresThroughput(model, { seconds, rounds, warmupSeconds, concurrencies, batches: quick ? [1, 4] : [1, 2, 4, 8], env })
      break
    case 'peer':
      log('/embed against transformers.js')
      results.peer = await peerTransformers(model, { seconds, rounds, peerConcurrencies: quick ? [1, 2] : [1, 2, 4], serviceConcurrency: 8, env })
      break
    case 'variants':
      log('fp32 against int8 (quantized)')
      results.variants = await variants(model, {
        variant: 'quantized',
        seconds,
        rounds,
        batches: [1, 8],
        concurrency: 8,
        imageSizes: quick ? [[500, 375], [640, 480], [320, 320]] : [[500, 375], [640, 480], [320, 320], [1024, 768], [300, 600]],
        env
      })
      break
    case 'preprocess':
      log('preprocessing a 12-megapixel JPEG')
      results.preprocess = await preprocessingTimes(model, quick ? 3 : 10)
      break
    case 'tiled':
      log(`tiled /segment on ${quick ? 2048 : 4096}² against its ceiling`)
      results.tiled = await tiledSegment(model, { side: quick ? 2048 : 4096, rounds: quick ? 1 : 3, rawRunsPerRound: quick ? 2 : 3, env })
      break
    case 'growth':
      log('cost growth of tiled /segment, a fresh service per size')
      results.growth = await tiledGrowth(model, { sides: quick ? [1024, 2048] : [1024, 2048, 4096, 8192], env, log })
      break
    case 'fit':
      log(`fitting a segmentation head on ${quick ? 20 : 100} images, and serving latency during a fit`)
      results.fit = await fitBenchmark(model, { images: quick ? 20 : 100, side: quick ? 256 : 512, servingSeconds: quick ? 3 : 10, servingFitImages: quick ? 8 : 20, env, log })
      break
  }
  log(`${section} done in ${Math.round((performance.now() - started) / 1000)} s`)
  keep()
}

const report = renderReport(results)
process.stdout.write(report)
if (!values['no-write']) {
  mkdirSync(benchDir, { recursive: true })
  writeFileSync(join(benchDir, 'latest.json'), JSON.stringify(results, null, 2))
  writeFileSync('BENCHMARKS.md', withHandKept(report, existsSync('BENCHMARKS.md') ? readFileSync('BENCHMARKS.md', 'utf8') : undefined))
  rmSync(join(benchDir, 'partial.json'), { force: true })
  log('wrote BENCHMARKS.md (keeping its hand-kept part) and bench-results/latest.json')
}
