import { summarise, type LatencySummary } from './stats.js'

export interface InProcessWindow {
  calls: number
  seconds: number
  samples: number[]
}

/** A closed loop of `concurrency` callers inside this process, for libraries that have no server to load. */
export async function closedLoop (call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<InProcessWindow> {
  const samples: number[] = []
  const started = performance.now()
  const until = started + seconds * 1000
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const t0 = performance.now()
      await call()
      samples.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { calls: samples.length, seconds: (performance.now() - started) / 1000, samples }
}

export function mergeInProcess (windows: InProcessWindow[]): { throughput: number, latency: LatencySummary, calls: number } {
  const calls = windows.reduce((s, w) => s + w.calls, 0)
  const seconds = windows.reduce((s, w) => s + w.seconds, 0)
  return { throughput: calls / seconds, latency: summarise(windows.flatMap((w) => w.samples)), calls }
}
