import type { LoadResult } from './load.js'
import { summarise } from './stats.js'

/** Several alternating windows of one load as one result: sums for throughput, all samples for percentiles. */
export function mergeWindows (windows: LoadResult[]): LoadResult {
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

/** Fails loudly when a window got anything but 200s: a ratio over errors would look like a result. */
export function assertAllOk (result: LoadResult, what: string): void {
  const bad = Object.entries(result.statuses).filter(([status]) => status !== '200')
  if (bad.length > 0) throw new Error(`${what}: answers other than 200: ${bad.map(([s, n]) => `${n}× ${s}`).join(', ')}`)
}
