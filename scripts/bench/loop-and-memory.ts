/**
 * tsx scripts/bench/loop-and-memory.ts [--root DIR] [--skip loop|burst] [--env KEY=VALUE ...]
 *
 * Two measurements of the service in its own process (the checkout at --root, this one by default, so that an older
 * checkout can be measured with the same client):
 * - the event-loop wait: the longest /health/live answer, polled every 20 ms over a socket, while one 4000x3000
 *   JPEG goes through /segment (png, overlay) and /features?format=png with a 150-class head;
 * - the burst: 200 concurrent /features?size=1024 uploads of a 2048x1536 JPEG, and the service's peak RSS (VmHWM).
 * Prints one JSON document.
 */
import { Agent, request } from 'node:http'
import { parseArgs } from 'node:util'
import { ade20kSizedModel, photoJpeg } from './fixtures.js'
import { startService, type RunningService } from './service-process.js'

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: process.cwd() },
    skip: { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    burst: { type: 'string', default: '200' }
  }
})
const env = Object.fromEntries(values.env.map((pair) => pair.split('=') as [string, string]))

interface Answer { status: number, ms: number, bytes: number, retryAfter?: string }

function post (url: string, body: Buffer, agent?: Agent): Promise<Answer> {
  const target = new URL(url)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({
      agent,
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'content-length': body.length }
    }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => { bytes += chunk.length })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, bytes, retryAfter: res.headers['retry-after'] }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Polls /health/live every 20 ms (one at a time, on its own connection) until stopped; the longest wait. */
function pollLiveness (url: string): { stop: () => Promise<{ maxMs: number, polls: number }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  let running = true
  let maxMs = 0
  let polls = 0
  const loop = (async () => {
    while (running) {
      const started = performance.now()
      await new Promise<void>((resolve, reject) => {
        const req = request(`${url}/health/live`, { agent }, (res) => { res.resume(); res.on('end', () => resolve()) })
        req.on('error', reject)
        req.end()
      })
      maxMs = Math.max(maxMs, performance.now() - started)
      polls += 1
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      agent.destroy()
      return { maxMs, polls }
    }
  }
}

async function loopWait (service: RunningService): Promise<Record<string, unknown>> {
  const jpeg = await photoJpeg(4000, 3000)
  const out: Record<string, unknown> = {}
  for (const path of ['/segment', '/segment?format=overlay', '/features?format=png']) {
    const poll = pollLiveness(service.url)
    const answer = await post(`${service.url}${path}`, jpeg)
    const { maxMs, polls } = await poll.stop()
    out[path] = { status: answer.status, requestMs: Math.round(answer.ms), maxLiveMs: Math.round(maxMs * 10) / 10, polls }
    process.stderr.write(`${path}: ${JSON.stringify(out[path])}\n`)
  }
  return out
}

async function burst (service: RunningService, count: number): Promise<Record<string, unknown>> {
  const jpeg = await photoJpeg(2048, 1536)
  const idle = service.rssMiB()
  const agent = new Agent({ keepAlive: false, maxSockets: count })
  const started = performance.now()
  // A burst can take many minutes on a busy machine: the peak so far is printed as it goes.
  const progress = setInterval(() => process.stderr.write(`burst: ${Math.round((performance.now() - started) / 1000)} s, peak RSS ${Math.round(service.peakRssMiB())} MiB\n`), 10_000)
  const answers = await Promise.all(Array.from({ length: count }, async () => post(`${service.url}/features?size=1024`, jpeg, agent).catch(() => ({ status: 0, ms: 0, bytes: 0 }))))
  clearInterval(progress)
  const statuses: Record<number, number> = {}
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1
  const ok = answers.filter((a) => a.status === 200).map((a) => a.ms).sort((a, b) => a - b)
  return {
    idleRssMiB: Math.round(idle),
    peakRssMiB: Math.round(service.peakRssMiB()),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    statuses,
    okP50Ms: Math.round(ok[Math.floor(ok.length / 2)] ?? 0),
    okMaxMs: Math.round(ok.at(-1) ?? 0)
  }
}

/**
 * The memory model: idle RSS, then the peak after batches of 1, 2, 4 and 8 images of 3072 tokens (a 2048x1536 JPEG
 * at size=1024), sent together so that they share a batch (MAX_BATCH_TOKENS raised so that they may).
 */
async function memoryModel (service: RunningService): Promise<Record<string, unknown>> {
  const jpeg = await photoJpeg(2048, 1536)
  const idle = service.rssMiB()
  const peaks: Record<string, number> = {}
  for (const batch of [1, 2, 4, 8]) {
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: batch }, async () => post(`${service.url}/features?size=1024`, jpeg)))
    }
    peaks[`batch${batch}`] = Math.round(service.peakRssMiB())
    process.stderr.write(`memory model: batch ${batch} of 3072 tokens, peak RSS ${peaks[`batch${batch}`]} MiB\n`)
  }
  return { idleRssMiB: Math.round(idle), peakRssMiB: peaks, mibPerThousandTokens: Math.round((peaks.batch8 - peaks.batch1) / (7 * 3.072) * 10) / 10 }
}

const model = ade20kSizedModel()
const results: Record<string, unknown> = { root: values.root, env }
if (!values.skip.includes('loop')) {
  const service = await startService({ MODEL: model, ...env }, values.root)
  try { results.loop = await loopWait(service) } finally { await service.stop() }
}
if (!values.skip.includes('burst')) {
  const service = await startService({ MODEL: model, ...env }, values.root)
  try { results.burst = await burst(service, Number(values.burst)) } finally { await service.stop() }
}
if (!values.skip.includes('model')) {
  const service = await startService({ MODEL: model, ...env, MAX_BATCH_TOKENS: '65536', BATCH_WAIT_FOR_DECODING_MS: '1000' }, values.root)
  try { results.model = await memoryModel(service) } finally { await service.stop() }
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
