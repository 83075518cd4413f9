/**
 * npm run bench -- [--only embed,preprocess] [--seconds 24] [--rounds 6] [--env KEY=VALUE ...] [--no-write]
 *
 * Measures the service against the raw ONNX Runtime ceiling in one run, on the ViT-S/16-sized synthetic model,
 * and writes BENCHMARKS.md (with machine, date and command) and bench-results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchDir, benchModel } from './bench/fixtures.js'
import { describeMachine } from './bench/machine.js'
import { renderReport, type BenchResults } from './bench/report.js'
import { embedThroughput } from './bench/sections/embed-throughput.js'
import { preprocessingTimes } from './bench/sections/preprocessing.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '24' },
    rounds: { type: 'string', default: '6' },
    env: { type: 'string', multiple: true, default: [] },
    'no-write': { type: 'boolean', default: false }
  }
})
const sections = new Set((values.only ?? 'embed,preprocess').split(','))
const seconds = Number(values.seconds)
const env = Object.fromEntries(values.env.map((pair) => pair.split('=') as [string, string]))

const model = benchModel()
const results: BenchResults = { machine: describeMachine(), command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}` }
const log = (message: string): void => { process.stderr.write(`[bench] ${message}\n`) }

if (sections.has('embed')) {
  log('/embed against the raw session')
  results.embed = await embedThroughput(model, { seconds, rounds: Number(values.rounds), concurrencies: [1, 4, 8, 16], env })
}
if (sections.has('preprocess')) {
  log('preprocessing a 12-megapixel JPEG')
  results.preprocess = await preprocessingTimes(model, 10)
}

const report = renderReport(results)
process.stdout.write(report)
if (!values['no-write']) {
  mkdirSync(benchDir, { recursive: true })
  writeFileSync(join(benchDir, 'latest.json'), JSON.stringify(results, null, 2))
  writeFileSync('BENCHMARKS.md', report)
  log('wrote BENCHMARKS.md and bench-results/latest.json')
}
