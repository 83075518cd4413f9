import { Agent, request } from 'node:http'
import { summarise, type LatencySummary } from './stats.js'

export interface LoadResult {
  requests: number
  seconds: number
  throughput: number
  latency: LatencySummary
  /** Every request's latency in ms, for merging windows. */
  samples: number[]
  statuses: Record<number, number>
  /** Mean of the service's own x-* timing headers, per header. */
  serverTimings: Record<string, number>
}

export interface LoadOptions {
  url: string
  body: Buffer
  contentType: string
  concurrency: number
  /** Stop after this long, or after `requests` answers, whichever comes first. */
  seconds: number
  requests?: number
  warmupRequests?: number
}

/** A closed loop: `concurrency` clients, each sending its next request when the last is answered. */
export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
  const target = new URL(options.url)
  const send = (): Promise<{ status: number, ms: number, headers: Record<string, string | string[] | undefined> }> =>
    new Promise((resolve, reject) => {
      const started = performance.now()
      const req = request({
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        headers: { 'content-type': options.contentType, 'content-length': options.body.length }
      }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, headers: res.headers }))
      })
      req.on('error', reject)
      req.end(options.body)
    })

  for (let i = 0; i < (options.warmupRequests ?? options.concurrency); i++) await send()

  const latencies: number[] = []
  const statuses: Record<number, number> = {}
  const timingSums: Record<string, number> = {}
  const started = performance.now()
  const until = started + options.seconds * 1000
  const limit = options.requests ?? Infinity
  let issued = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < until && issued < limit) {
      issued += 1
      const { status, ms, headers } = await send()
      latencies.push(ms)
      statuses[status] = (statuses[status] ?? 0) + 1
      for (const [name, value] of Object.entries(headers)) {
        if (/^x-[a-z]+-time$/.test(name)) timingSums[name] = (timingSums[name] ?? 0) + Number(value)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return {
    requests: latencies.length,
    seconds,
    throughput: latencies.length / seconds,
    latency: summarise(latencies),
    samples: latencies,
    statuses,
    serverTimings: Object.fromEntries(Object.entries(timingSums).map(([k, v]) => [k, v / latencies.length]))
  }
}
