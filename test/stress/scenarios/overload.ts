import { summarise, type LatencySummary } from '../../../scripts/bench/stats.js'
import { patternJpeg } from '../../helpers/images.js'
import { closedLoop, openLoop, type OpenLoopTraffic, type Traffic } from './load-loops.js'
import { countStatuses, errorCode, LoopbackClient, type Answer } from './loopback-client.js'
import { check, mib, round, type Report } from './report.js'
import { spawnServer, type ServerProcess } from './server-process.js'
import { metricValue } from './service.js'

export interface OverloadOptions {
  /** MAX_CONCURRENT_REQUESTS: the requests the service admits at once. */
  capacity: number
  /**
   * Windows at capacity and windows of overload, alternating: a shared host whose speed drifts (other test files on
   * the same two cores, noisy neighbours) then drifts under both alike, and their ratio measures the service.
   */
  rounds: number
  /** Each window at capacity. */
  baselineMs: number
  /** Each window of overload. */
  overloadMs: number
  /** Offered load during the overload, as a multiple of the throughput measured at capacity. */
  factor: number
  /** Requests per caller after the overload, at capacity. */
  recoveryRequestsEach: number
  /** p99 of the accepted requests under overload (and after it) over the p99 at capacity. */
  maxLatencyRatio: number
  /** RSS after the overload over before it. */
  maxMemoryRatio: number
}

export const shortOverload: OverloadOptions = {
  capacity: 4, rounds: 3, baselineMs: 1000, overloadMs: 1500, factor: 10, recoveryRequestsEach: 6, maxLatencyRatio: 4, maxMemoryRatio: 1.5
}

export const longOverload: OverloadOptions = {
  capacity: 4, rounds: 6, baselineMs: 3000, overloadMs: 10_000, factor: 10, recoveryRequestsEach: 50, maxLatencyRatio: 4, maxMemoryRatio: 1.25
}

const refusalCodes = new Set(['overloaded', 'shutting_down', 'not_ready'])

/**
 * 10× more requests than the service can take, for a bounded time, over real keep-alive connections: the excess is
 * refused at once with Retry-After, the admitted requests keep their latency, memory does not grow, and the service
 * is back to normal as soon as the load drops. The service runs in a process of its own, as deployed: with the
 * generator in the same process, its own sending of ten times the capacity held the event loop that the admitted
 * requests' answers wait for, and their p99 measured the generator as much as the service.
 */
export async function runOverload (options: OverloadOptions): Promise<Report> {
  const service = await spawnServer({ MAX_CONCURRENT_REQUESTS: String(options.capacity) })
  try {
    // Large enough that the capacity is some tens of requests a second on the tiny model: ten times that is a load
    // the generator can still offer without becoming the bottleneck itself.
    const jpeg = await patternJpeg(512, 512)
    const segment = async (client: LoopbackClient): Promise<Answer> => client.post('/segment', jpeg, { timeoutMs: 30_000 })
    await closedLoop(service.client, segment, options.capacity, { requestsEach: 5 })

    // A pool of keep-alive connections, as a load balancer keeps: a new connection per request would measure the
    // kernel's accept queue overflowing (SYN retries of a second and more), not the service.
    const pool = new LoopbackClient(service.port, { maxSockets: options.factor * options.capacity })
    const baselines: Traffic[] = []
    const overloads: OpenLoopTraffic[] = []
    let before = 0
    for (let round = 0; round < options.rounds; round++) {
      const atCapacity = await closedLoop(service.client, segment, options.capacity, { ms: options.baselineMs })
      baselines.push(atCapacity)
      if (round === 0) before = service.rss()
      const rate = options.factor * atCapacity.answers.length / atCapacity.seconds
      overloads.push(await openLoop(pool, segment, rate, options.overloadMs, options.factor * options.capacity * 20))
    }
    pool.close()
    const baseline = tally(joined(baselines))
    const capacityRate = baseline.count / baseline.seconds
    const traffic = joinedOpen(overloads)
    const overload = tally(traffic)
    // Only tallies are kept: the answers are the generator's memory, not the service's.
    for (const window of [...baselines, ...overloads, traffic]) window.answers.length = 0
    const recovery = tally(await closedLoop(service.client, segment, options.capacity, { requestsEach: options.recoveryRequestsEach }))
    const after = service.rss()
    const inFlight = await metric(service, 'dinov3_requests_in_flight')
    const queueDepth = await metric(service, 'dinov3_queue_depth')

    const latencyRatio = overload.latency.p99 / baseline.latency.p99
    const recoveryRatio = recovery.latency.p99 / baseline.latency.p99
    const rssRatio = after / before
    // Requests answered while a window drains were accepted in it: the drain counts in its time.
    const acceptedRate = overload.served / (traffic.seconds + traffic.drainMs / 1000)
    return {
      scenario: 'overload',
      numbers: {
        capacity: options.capacity,
        rounds: options.rounds,
        'capacity req/s': round(capacityRate, 1),
        'baseline p50 ms': round(baseline.latency.p50),
        'baseline p99 ms': round(baseline.latency.p99),
        'offered req/s': round(traffic.offeredRate, 1),
        'overload requests': overload.count,
        'overload statuses': overload.statuses,
        'accepted req/s': round(acceptedRate, 1),
        'accepted p50 ms': round(overload.latency.p50),
        'accepted p99 ms': round(overload.latency.p99),
        'p99 ratio overload/baseline': round(latencyRatio),
        'drain ms (all windows)': round(traffic.drainMs),
        'recovery p99 ms': round(recovery.latency.p99),
        'p99 ratio recovery/baseline': round(recoveryRatio),
        'rss MiB before→after': `${mib(before)}→${mib(after)}`
      },
      checks: [
        check('at capacity every request is served', baseline.served === baseline.count, `${baseline.served}/${baseline.count} answered 200 (${baseline.statuses})`),
        check('the generator really offered the overload', traffic.offeredRate >= options.factor * capacityRate * 0.5 && traffic.skipped === 0,
          `${round(traffic.offeredRate, 1)} req/s offered for ${round(capacityRate, 1)} req/s of capacity, ${traffic.skipped} arrivals skipped`),
        check('the excess is refused', overload.refused > overload.served, `${overload.refused} refused, ${overload.served} accepted`),
        check('every refusal is 429/503 with Retry-After and an error code', overload.wellRefused === overload.refused,
          `${overload.wellRefused}/${overload.refused}; statuses ${overload.statuses}`),
        check('under overload the service still serves near its capacity', acceptedRate >= capacityRate * 0.5,
          `${round(acceptedRate, 1)} req/s accepted vs ${round(capacityRate, 1)} at capacity`),
        check('accepted requests keep a bounded latency', latencyRatio <= options.maxLatencyRatio,
          `p99 ${round(overload.latency.p99)} ms vs ${round(baseline.latency.p99)} ms at capacity: ×${round(latencyRatio)} (limit ×${options.maxLatencyRatio})`),
        check('it recovers at once: every next request is served', recovery.served === recovery.count, `${recovery.served}/${recovery.count} answered 200 (${recovery.statuses})`),
        check('it recovers at once: baseline-like latency', recoveryRatio <= options.maxLatencyRatio,
          `p99 ${round(recovery.latency.p99)} ms: ×${round(recoveryRatio)} of baseline (limit ×${options.maxLatencyRatio})`),
        check('RSS stays bounded', rssRatio <= options.maxMemoryRatio, `×${round(rssRatio)} (limit ×${options.maxMemoryRatio})`),
        check('nothing left in flight or queued', inFlight === 0 && queueDepth === 0, `in flight ${inFlight}, queue depth ${queueDepth}`)
      ]
    }
  } finally {
    await service.kill()
  }
}

function joined (windows: Traffic[]): Traffic {
  return { answers: windows.flatMap((w) => w.answers), seconds: windows.reduce((sum, w) => sum + w.seconds, 0) }
}

/** The overload windows as one: their sending times and their drains add up. */
function joinedOpen (windows: OpenLoopTraffic[]): OpenLoopTraffic {
  const { answers, seconds } = joined(windows)
  return {
    answers,
    seconds,
    offeredRate: windows.reduce((sum, w) => sum + w.offeredRate * w.seconds, 0) / seconds,
    skipped: windows.reduce((sum, w) => sum + w.skipped, 0),
    drainMs: windows.reduce((sum, w) => sum + w.drainMs, 0)
  }
}

/** A gauge of the service's /metrics, summed over its labels. */
async function metric (service: ServerProcess, name: string): Promise<number> {
  return metricValue((await service.client.send('/metrics')).body.toString('utf8'), name)
}

interface Tally {
  count: number
  seconds: number
  served: number
  /** Latency of the 200s. */
  latency: LatencySummary
  refused: number
  /** Refusals as they should be: 429 or 503, Retry-After, and the service's error code. */
  wellRefused: number
  statuses: string
}

function tally ({ answers, seconds }: Traffic): Tally {
  const served = answers.filter((a) => a.status === 200)
  const refused = answers.filter((a) => a.status !== 200)
  const wellRefused = refused.filter((a) => (a.status === 429 || a.status === 503) && a.headers['retry-after'] !== undefined && refusalCodes.has(errorCode(a) ?? ''))
  return {
    count: answers.length,
    seconds,
    served: served.length,
    latency: summarise(served.map((a) => a.ms)),
    refused: refused.length,
    wellRefused: wellRefused.length,
    statuses: countStatuses(answers)
  }
}
