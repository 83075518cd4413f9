import { patternJpeg, patternPng } from '../../helpers/images.js'
import { countStatuses, errorCode, LoopbackClient, type Answer } from './loopback-client.js'
import { RawRequest } from './raw-request.js'
import { check, round, type Check, type Report } from './report.js'
import { spawnServer } from './server-process.js'
import { sleep, waitFor, within } from './wait.js'

export interface ShutdownOptions {
  /** Requests in flight when SIGTERM comes, held in the batcher by BATCH_WAIT_MS. */
  inFlight: number
  batchWaitMs: number
  graceMs: number
  /** Server processes started and stopped, one after the other. */
  rounds: number
}

export const shortShutdown: ShutdownOptions = { inFlight: 6, batchWaitMs: 1000, graceMs: 5000, rounds: 1 }
export const longShutdown: ShutdownOptions = { inFlight: 24, batchWaitMs: 1000, graceMs: 6000, rounds: 5 }

const paths = ['/embed', '/features', '/segment?format=json', '/depth', '/analyze?tasks=embed,depth']

/**
 * SIGTERM to the real server process with requests in flight: they finish with 200 (closing their connections), a
 * request that arrives on a connection still open gets 503 shutting_down with Retry-After, a new connection is
 * refused, and the process exits 0 before the grace period is over.
 */
export async function runShutdown (options: ShutdownOptions): Promise<Report> {
  const rounds: Round[] = []
  for (let i = 0; i < options.rounds; i++) rounds.push(await shutdownOnce(options))
  const all = (pick: (round: Round) => Answer[]): Answer[] => rounds.flatMap(pick)
  const inFlight = all((r) => r.inFlight)
  const arriving = all((r) => r.arriving)
  const fresh = all((r) => r.fresh)
  const exitMs = rounds.map((r) => r.exitMs)
  const wellRefused = (a: Answer): boolean => a.status === 503 && errorCode(a) === 'shutting_down' && a.headers['retry-after'] !== undefined
  return {
    scenario: 'shutdown',
    numbers: {
      rounds: options.rounds,
      'in flight at SIGTERM': options.inFlight,
      'in-flight answers': countStatuses(inFlight),
      'arriving on an open connection': countStatuses(arriving),
      'new connections': countStatuses(fresh),
      'SIGTERM→exit ms (max)': round(Math.max(...exitMs)),
      'grace ms': options.graceMs,
      'exit codes': rounds.map((r) => r.exit).join(' ')
    },
    checks: [
      check('requests in flight finish with 200', inFlight.every((a) => a.status === 200), countStatuses(inFlight)),
      check('their answers close the connection', inFlight.every((a) => a.headers.connection === 'close'),
        `connection: ${[...new Set(inFlight.map((a) => a.headers.connection))].join(', ')}`),
      check('a request arriving on an open connection gets 503 shutting_down with Retry-After', arriving.every(wellRefused),
        arriving.map((a) => `${a.status} ${errorCode(a) ?? ''} retry-after=${String(a.headers['retry-after'])}`).join('; ')),
      check('a new connection is refused (or answered 503 with Retry-After)', fresh.every((a) => a.error === 'ECONNREFUSED' || wellRefused(a)), countStatuses(fresh)),
      check('the process exits 0', rounds.every((r) => r.exit === 'code 0'), `${rounds.map((r) => r.exit).join(', ')}${rounds.map((r) => r.stderr).join('')}`),
      check('it exits within SHUTDOWN_GRACE_MS', exitMs.every((ms) => ms <= options.graceMs), `${exitMs.map((ms) => round(ms)).join(', ')} ms (grace ${options.graceMs} ms)`)
    ] satisfies Check[]
  }
}

interface Round {
  inFlight: Answer[]
  arriving: Answer[]
  fresh: Answer[]
  exit: string
  exitMs: number
  stderr: string
}

async function shutdownOnce (options: ShutdownOptions): Promise<Round> {
  const server = await spawnServer({
    BATCH_WAIT_MS: String(options.batchWaitMs),
    SHUTDOWN_GRACE_MS: String(options.graceMs),
    MAX_CONCURRENT_REQUESTS: String(options.inFlight + 8),
    // No batch fills up and runs early: all of them are still in flight when the signal comes.
    MAX_BATCH_SIZE: String(options.inFlight)
  })
  const probe = new LoopbackClient(server.port, { keepAlive: false })
  try {
    const png = await patternPng(96, 64)
    const jpeg = await patternJpeg(64, 96)
    const sending = Array.from({ length: options.inFlight }, async (_, i) =>
      server.client.post(paths[i % paths.length], i % 2 === 0 ? png : jpeg, { timeoutMs: options.graceMs + 5000 }))
    await waitFor(`${options.inFlight} requests in flight`, async () => await inFlightGauge(probe) === options.inFlight, 10_000)
    // A connection in the middle of sending its request (request line sent, headers not finished): open, not idle.
    const open = await RawRequest.open(server.port, '/embed', { 'content-type': 'application/octet-stream' }, false)

    const signalledAt = performance.now()
    server.child.kill('SIGTERM')
    await sleep(Math.min(200, options.batchWaitMs / 4))
    await open.write(`content-length: ${png.length}\r\n\r\n`)
    await open.write(png)
    const fresh = await probe.post('/embed', png, { timeoutMs: 2000 })
    await within(open.closed, options.graceMs)
    const inFlight = await Promise.all(sending)
    const exit = await within(server.exited, options.graceMs + 5000)
    return {
      inFlight,
      arriving: [rawAnswer(open)],
      fresh: [fresh],
      exit: exit === undefined ? 'still running' : exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal ?? '?'}`,
      exitMs: exit === undefined ? Infinity : exit.at - signalledAt,
      stderr: server.stderr()
    }
  } finally {
    probe.close()
    await server.kill()
  }
}

async function inFlightGauge (client: LoopbackClient): Promise<number> {
  const metrics = await client.send('/metrics', { timeoutMs: 2000 })
  return Number(/^dinov3_requests_in_flight (\S+)$/m.exec(metrics.body.toString('utf8'))?.[1] ?? NaN)
}

/** The raw connection's answer in the client's terms: status, headers, body. */
function rawAnswer (request: RawRequest): Answer {
  const [head, ...body] = request.response.split('\r\n\r\n')
  const headers = Object.fromEntries(head.split('\r\n').slice(1).map((line) => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
  }))
  return {
    status: request.status,
    headers,
    body: Buffer.from(body.join('\r\n\r\n'), 'latin1'),
    ms: 0,
    ...(request.status === 0 ? { error: 'no answer' } : {})
  }
}
