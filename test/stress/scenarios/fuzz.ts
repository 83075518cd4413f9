import { imageCorpus, type Specimen } from './fuzz-corpus.js'
import { FuzzRandom } from './fuzz-random.js'
import { fuzzRequest, type FuzzRequest, type HeadNames } from './fuzz-requests.js'
import { countStatuses, type Answer } from './loopback-client.js'
import { check, round, type Report } from './report.js'
import { spawnServer, type ServerProcess } from './server-process.js'

export interface FuzzOptions {
  seed: number
  /** At most this many cases… */
  cases: number
  /** …and no longer than this (the run stops between cases). */
  budgetMs: number
  /** Requests at once. */
  concurrency: number
}

export const shortFuzz = (seed: number): FuzzOptions => ({ seed, cases: 400, budgetMs: 20_000, concurrency: 4 })
export const longFuzz = (seed: number): FuzzOptions => ({ seed, cases: 5000, budgetMs: 300_000, concurrency: 4 })

/**
 * FUZZ_SEED when given (to replay a run); else `fallback`: a fixed seed keeps `npm test` the same run every time,
 * while the stress script explores with a new seed each run. Either way the seed is printed.
 */
export function fuzzSeed (fallback: number = (Date.now() ^ (process.pid << 16)) >>> 0, env: Record<string, string | undefined> = process.env): number {
  const given = env.FUZZ_SEED
  return given !== undefined && given !== '' ? Number(given) >>> 0 : fallback
}

export const replayCommand = (seed: number, index: number): string => `npm run stress -- fuzz --seed ${seed} --case ${index}`

/** One case: what was sent and what came back. */
export interface FuzzCase {
  index: number
  request: FuzzRequest
  answer: Answer
}

const serverEnv = { MAX_CONCURRENT_REQUESTS: '256', LOG_LEVEL: 'error', REQUEST_TIMEOUT_MS: '20000', TILED_REQUEST_TIMEOUT_MS: '20000' }

/**
 * Random and mutated images and queries against every POST endpoint of the real server process: every answer is
 * 2xx or 4xx, never 5xx, never a dropped connection, and the process is alive and ready at the end.
 */
export async function runFuzz (options: FuzzOptions): Promise<Report> {
  const corpus = await imageCorpus()
  const server = await spawnServer(serverEnv)
  try {
    const heads = await headNames(server)
    const failures: FuzzCase[] = []
    const answers: Answer[] = []
    const started = performance.now()
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < options.cases && performance.now() - started < options.budgetMs && server.child.exitCode === null) {
        const index = next++
        const result = await runCase(server, corpus, heads, options.seed, index)
        answers.push(result.answer)
        if (result.answer.status >= 500 || result.answer.status === 0) failures.push(result)
      }
    }
    await Promise.all(Array.from({ length: options.concurrency }, worker))
    const seconds = (performance.now() - started) / 1000
    const ready = await server.client.send('/health/ready', { timeoutMs: 5000 })
    const alive = server.child.exitCode === null && server.child.signalCode === null
    failures.sort((a, b) => a.index - b.index)
    return {
      scenario: 'fuzz',
      numbers: {
        seed: options.seed,
        cases: answers.length,
        seconds: round(seconds, 1),
        statuses: countStatuses(answers),
        failures: failures.length
      },
      checks: [
        check('every answer is 2xx or 4xx (no 5xx, no dropped connection)', failures.length === 0,
          failures.length === 0 ? `${answers.length} cases, seed ${options.seed}` : failures.slice(0, 10).map((f) => describeFailure(options.seed, f, server)).join('\n')),
        check('the server never crashed and is ready afterwards', alive && ready.status === 200,
          `alive: ${alive}, /health/ready ${ready.status}${alive ? '' : `, exit ${String(server.child.exitCode ?? server.child.signalCode)}: ${server.stderr().slice(-2000)}`}`),
        check('the run covered a meaningful number of cases', answers.length >= Math.min(options.cases, 100), `${answers.length} cases in ${round(seconds, 1)} s`)
      ]
    }
  } finally {
    await server.kill()
  }
}

/** One case again, alone, for a failure report: `npm run stress -- fuzz --seed S --case I`. */
export async function replayFuzzCase (seed: number, index: number): Promise<FuzzCase & { log: string }> {
  const corpus = await imageCorpus()
  const server = await spawnServer(serverEnv)
  try {
    const result = await runCase(server, corpus, await headNames(server), seed, index)
    return { ...result, log: server.log() }
  } finally {
    await server.kill()
  }
}

async function runCase (server: ServerProcess, corpus: Specimen[], heads: HeadNames, seed: number, index: number): Promise<FuzzCase> {
  const request = fuzzRequest(new FuzzRandom(seed, index), corpus, heads)
  const answer = await server.client.post(request.path, request.body, { headers: request.headers, timeoutMs: 30_000 })
  return { index, request, answer }
}

async function headNames (server: ServerProcess): Promise<HeadNames> {
  const models = JSON.parse((await server.client.send('/models')).body.toString('utf8')) as { heads: Array<{ name: string, task: string }> }
  const named = (task: string): string[] => models.heads.filter((h) => h.task === task).map((h) => h.name)
  // The real heads three times as often as an unknown one (404).
  const names = (task: string): string[] => [...named(task), ...named(task), ...named(task), 'no-such-head']
  return { segmentation: names('segmentation'), depth: names('depth') }
}

export function describeFailure (seed: number, failure: FuzzCase, server?: ServerProcess): string {
  const { index, request, answer } = failure
  const requestId = String(answer.headers['x-request-id'] ?? '')
  const logLines = server === undefined || requestId === '' ? [] : server.log().split('\n').filter((line) => line.includes(requestId))
  return [
    `case ${index} (seed ${seed}; replay: ${replayCommand(seed, index)})`,
    `  POST ${request.path.slice(0, 300)}`,
    `  content-type: ${request.headers['content-type'] ?? ''}; ${request.body.length} bytes: ${request.description}`,
    `  → ${answer.status === 0 ? `no answer (${answer.error ?? '?'})` : `${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`}`,
    ...logLines.map((line) => `  log: ${line.slice(0, 1500)}`)
  ].join('\n')
}
