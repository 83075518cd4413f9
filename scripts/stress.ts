/**
 * The long versions of the stress scenarios (test/stress/ runs short ones in `npm test`), with a summary of what
 * each measured at the end; exits 1 when a check failed.
 *
 *   npm run stress                                   every scenario
 *   npm run stress -- overload soak                  some of them
 *   FUZZ_SEED=123 npm run stress -- fuzz             a fuzz run again
 *   npm run stress -- fuzz --seed 123 --case 45      one fuzz case, with its request, answer and server log
 */
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commandLineMistake, parseCommandLine } from './command-line.js'
import { longDisconnects, runDisconnects } from '../test/stress/scenarios/disconnects.js'
import { describeFailure, fuzzSeed, longFuzz, replayFuzzCase, runFuzz } from '../test/stress/scenarios/fuzz.js'
import { longOverload, runOverload } from '../test/stress/scenarios/overload.js'
import type { Report } from '../test/stress/scenarios/report.js'
import { longShutdown, runShutdown } from '../test/stress/scenarios/shutdown.js'
import { longSlowUpload, runSlowUpload } from '../test/stress/scenarios/slow-upload.js'
import { longSoak, runSoak } from '../test/stress/scenarios/soak.js'

const scenarios: Record<string, () => Promise<Report>> = {
  overload: async () => runOverload(longOverload),
  disconnects: async () => runDisconnects(longDisconnects),
  'slow-uploads': async () => runSlowUpload(longSlowUpload),
  shutdown: async () => runShutdown(longShutdown),
  fuzz: async () => {
    const seed = fuzzSeed()
    console.log(`  fuzz seed ${seed} (FUZZ_SEED=${seed} runs it again)`)
    return runFuzz(longFuzz(seed))
  },
  soak: async () => runSoak(longSoak)
}

const USAGE = `usage: npm run stress -- [${Object.keys(scenarios).join(' ')}] [--seed N] [--case N]`

async function main (): Promise<number> {
  const { values, positionals } = parseCommandLine(USAGE, { allowPositionals: true, options: { seed: { type: 'string' }, case: { type: 'string' } } })
  if (values.case !== undefined) return replay(Number(values.seed ?? fuzzSeed()), Number(values.case))
  if (values.seed !== undefined) process.env.FUZZ_SEED = values.seed
  const unknown = positionals.filter((name) => !(name in scenarios))
  if (unknown.length > 0) commandLineMistake(USAGE, `unknown scenario ${unknown.join(', ')}; the scenarios are ${Object.keys(scenarios).join(', ')}`)
  const chosen = positionals.length > 0 ? positionals : Object.keys(scenarios)
  const reports: Array<{ report: Report, seconds: number }> = []
  for (const name of chosen) {
    console.log(`▶ ${name}`)
    const started = performance.now()
    const report = await scenarios[name]()
    const seconds = (performance.now() - started) / 1000
    for (const { ok, name: check, detail } of report.checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${check}: ${detail}`)
    reports.push({ report, seconds })
  }
  printSummary(reports)
  return reports.every(({ report }) => report.checks.every((c) => c.ok)) ? 0 : 1
}

function printSummary (reports: Array<{ report: Report, seconds: number }>): void {
  console.log('\n═══ summary ═══')
  for (const { report, seconds } of reports) {
    const failed = report.checks.filter((c) => !c.ok)
    console.log(`\n${report.scenario} — ${failed.length === 0 ? 'all' : `${report.checks.length - failed.length} of`} ${report.checks.length} checks passed (${seconds.toFixed(0)} s)`)
    for (const [name, value] of Object.entries(report.numbers)) console.log(`  ${name.padEnd(44)} ${value}`)
    for (const check of failed) console.log(`  FAILED: ${check.name}\n    ${check.detail.replace(/\n/g, '\n    ')}`)
  }
}

async function replay (seed: number, index: number): Promise<number> {
  const result = await replayFuzzCase(seed, index)
  const file = join(tmpdir(), `fuzz-${seed}-${index}.bin`)
  writeFileSync(file, result.request.body)
  console.log(describeFailure(seed, result))
  console.log(`  body written to ${file}`)
  const logLines = result.log.split('\n').filter((line) => line.trim() !== '')
  if (logLines.length > 0) console.log(`  server log:\n    ${logLines.slice(-20).join('\n    ')}`)
  return result.answer.status >= 500 || result.answer.status === 0 ? 1 : 0
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error)
  process.exit(1)
})
