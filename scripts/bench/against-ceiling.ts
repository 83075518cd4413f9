import { compareCpu, type CpuComparison, CpuTally, ownCpuMs, processCpuMs } from './cpu-time.js'
import type { LoadResult } from './load.js'
import { inferenceInstances, ortSettings } from './ort-settings.js'
import { RawInstances } from './raw-instances.js'
import { RemoteLoad } from './remote-load.js'
import { startService } from './service-process.js'
import { summarise, type LatencySummary } from './stats.js'
import { assertAllOk, mergeWindows } from './windows.js'

export interface CeilingOptions {
  /** Path and query of the endpoint, e.g. `/embed` or `/features?format=npy`. */
  path: string
  body: Buffer
  contentType: string
  /** Side of the square tensor the raw session runs: what the service feeds the backbone for `body`. */
  size: number
  batches: number[]
  concurrencies: number[]
  seconds: number
  rounds: number
  /**
   * How long the service serves at the highest concurrency before any row is measured: a long-running service's
   * JavaScript is compiled by then and its batch sizer has settled, which a few requests leave undone.
   */
  warmupSeconds: number
  env: Record<string, string>
}

export interface CeilingComparison {
  path: string
  size: number
  rawByBatch: Record<number, number>
  bestBatch: number
  rawSingle: LatencySummary
  service: Array<{
    concurrency: number
    result: LoadResult
    raw: number
    ratio: number
    /** Each service window over the raw window just before it: the spread of the row's ratio. */
    windowRatios: number[]
    cpu: CpuComparison
  }>
  /** Service p50 at concurrency 1 minus the raw single-image p50, measured in alternation, in ms. */
  latencyOverheadMs: number
  rounds: number
  warmupSeconds: number
  env: Record<string, string>
}

/**
 * An endpoint against the raw session ceiling at size S, at several concurrencies. The two are measured in
 * alternating short windows (raw, service, raw, service, …) and compared as sums, so that the drift of a shared
 * machine's speed over minutes falls on both sides of each ratio alike.
 */
export async function endpointAgainstCeiling (model: string, options: CeilingOptions): Promise<CeilingComparison> {
  const raw = await RawInstances.open(model, { size: options.size, ...ortSettings(options.env), instances: inferenceInstances(options.env) })
  const service = await startService({ MODEL: model, ...options.env })
  const load = RemoteLoad.start()
  const url = `${service.url}${options.path}`
  const window = options.seconds / options.rounds
  try {
    const { byBatch: rawByBatch, best: bestBatch } = await raw.sweep(options.batches, window)
    const busiest = { url, body: options.body, contentType: options.contentType, concurrency: Math.max(...options.concurrencies) }
    assertAllOk(await load.run({ ...busiest, seconds: options.warmupSeconds, warmupRequests: 0 }), `${options.path} while warming up`)

    const rows: CeilingComparison['service'] = []
    let rawSingle: LatencySummary | undefined
    let latencyOverheadMs = NaN
    for (const concurrency of options.concurrencies) {
      const request = { url, body: options.body, contentType: options.contentType, concurrency }
      assertAllOk(await load.run({ ...request, seconds: 0, warmupRequests: concurrency * 2 }), options.path)
      let rawImages = 0
      let rawSeconds = 0
      const rawLatencies: number[] = []
      const windows: LoadResult[] = []
      const windowRatios: number[] = []
      const ceilingCpu = new CpuTally()
      const serviceCpu = new CpuTally()
      for (let round = 0; round < options.rounds; round++) {
        // run() starts with one untimed run of the batch on each instance, which the CPU time includes.
        const r = await ceilingCpu.measure(ownCpuMs, async () => raw.run(bestBatch, window), (run) => run.images + bestBatch * raw.count)
        rawImages += r.images
        rawSeconds += r.seconds
        // Single-image latency of the raw session, beside the service's at concurrency 1.
        if (concurrency === 1) rawLatencies.push(...(await raw.runAlone(1, window / 2)).latencies)
        const served = await serviceCpu.measure(() => processCpuMs(service.pid),
          async () => load.run({ ...request, seconds: window, warmupRequests: 0 }), (answered) => answered.requests)
        windows.push(served)
        windowRatios.push(served.throughput / (r.images / r.seconds))
      }
      const result = mergeWindows(windows)
      assertAllOk(result, `${options.path} at concurrency ${concurrency}`)
      const ceiling = rawImages / rawSeconds
      rows.push({ concurrency, result, raw: ceiling, ratio: result.throughput / ceiling, windowRatios, cpu: compareCpu(ceilingCpu, serviceCpu, ceiling) })
      if (concurrency === 1) {
        rawSingle = summarise(rawLatencies)
        latencyOverheadMs = result.latency.p50 - rawSingle.p50
      }
    }
    return {
      path: options.path,
      size: options.size,
      rawByBatch,
      bestBatch,
      rawSingle: rawSingle ?? summarise([NaN]),
      service: rows,
      latencyOverheadMs,
      rounds: options.rounds,
      warmupSeconds: options.warmupSeconds,
      env: options.env
    }
  } finally {
    load.stop()
    await service.stop()
    await raw.release()
  }
}
