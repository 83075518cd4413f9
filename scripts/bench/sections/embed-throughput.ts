import { availableParallelism } from 'node:os'
import { photoJpeg } from '../fixtures.js'
import type { LoadResult } from '../load.js'
import { RemoteLoad } from '../remote-load.js'
import { RawSession } from '../raw-session.js'
import { startService } from '../service-process.js'
import { summarise, type LatencySummary } from '../stats.js'

export interface EmbedThroughput {
  rawByBatch: Record<number, number>
  bestBatch: number
  rawSingle: LatencySummary
  service: Array<{ concurrency: number, result: LoadResult, raw: number, ratio: number }>
  /** Service p50 at concurrency 1 minus the raw single-image p50, measured in alternation, in ms. */
  latencyOverheadMs: number
  rounds: number
  env: Record<string, string>
}

/**
 * /embed on a 500×375 JPEG at several concurrencies, against the raw session ceiling. The two are measured in
 * alternating short windows (raw, service, raw, service, …) and compared as sums, so that the drift of a shared
 * machine's speed over minutes falls on both sides of each ratio alike.
 */
export async function embedThroughput (model: string, options: { seconds: number, rounds: number, concurrencies: number[], env: Record<string, string> }): Promise<EmbedThroughput> {
  const threads = Number(options.env.INTRA_OP_THREADS ?? availableParallelism())
  const spinning = ['1', 'true'].includes(options.env.ORT_SPINNING ?? 'false')
  const raw = await RawSession.open(model, { size: 224, threads, spinning })
  const body = await photoJpeg(500, 375)
  const service = await startService({ MODEL: model, ...options.env })
  const load = RemoteLoad.start()
  const window = options.seconds / options.rounds
  try {
    const rawByBatch: Record<number, number> = {}
    for (const batch of [1, 2, 4, 8]) {
      const { images, seconds } = await raw.run(batch, window)
      rawByBatch[batch] = images / seconds
    }
    const bestBatch = Number(Object.entries(rawByBatch).sort((a, b) => b[1] - a[1])[0][0])

    const rows: EmbedThroughput['service'] = []
    let rawSingle: LatencySummary | undefined
    let latencyOverheadMs = NaN
    for (const concurrency of options.concurrencies) {
      await load.run({ url: `${service.url}/embed`, body, contentType: 'image/jpeg', concurrency, seconds: 0, warmupRequests: concurrency * 2 })
      let rawImages = 0
      let rawSeconds = 0
      const rawLatencies: number[] = []
      const windows: LoadResult[] = []
      for (let round = 0; round < options.rounds; round++) {
        const r = await raw.run(bestBatch, window)
        rawImages += r.images
        rawSeconds += r.seconds
        // Single-image latency of the raw session, beside the service's at concurrency 1.
        if (concurrency === 1) rawLatencies.push(...(await raw.run(1, window / 2)).latencies)
        windows.push(await load.run({ url: `${service.url}/embed`, body, contentType: 'image/jpeg', concurrency, seconds: window, warmupRequests: 0 }))
      }
      const result = mergeWindows(windows)
      const ceiling = rawImages / rawSeconds
      rows.push({ concurrency, result, raw: ceiling, ratio: result.throughput / ceiling })
      if (concurrency === 1) {
        rawSingle = summarise(rawLatencies)
        latencyOverheadMs = result.latency.p50 - rawSingle.p50
      }
    }
    return { rawByBatch, bestBatch, rawSingle: rawSingle ?? summarise([NaN]), service: rows, latencyOverheadMs, rounds: options.rounds, env: options.env }
  } finally {
    load.stop()
    await service.stop()
    await raw.release()
  }
}

function mergeWindows (windows: LoadResult[]): LoadResult {
  const requests = windows.reduce((s, w) => s + w.requests, 0)
  const seconds = windows.reduce((s, w) => s + w.seconds, 0)
  const samples = windows.flatMap((w) => w.samples)
  const statuses: Record<number, number> = {}
  for (const w of windows) for (const [status, n] of Object.entries(w.statuses)) statuses[Number(status)] = (statuses[Number(status)] ?? 0) + n
  const serverTimings: Record<string, number> = {}
  for (const w of windows) {
    for (const [name, mean] of Object.entries(w.serverTimings)) serverTimings[name] = (serverTimings[name] ?? 0) + mean * w.requests / requests
  }
  return { requests, seconds, throughput: requests / seconds, latency: summarise(samples), samples, statuses, serverTimings }
}
