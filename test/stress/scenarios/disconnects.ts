import type { Socket } from 'node:net'
import sharp from 'sharp'
import { patternPng, patternRgb, rawInput } from '../../helpers/images.js'
import { connections, noLeaks, partialMultipart, watchInFlight } from './disconnect-checks.js'
import { RawRequest } from './raw-request.js'
import { check, round, type Check, type Report } from './report.js'
import { backboneRuns, metric, startListening } from './service.js'
import { sleep, waitFor, within } from './wait.js'

export interface DisconnectOptions {
  /** MAX_CONCURRENT_REQUESTS. */
  capacity: number
  /** Clients that vanish, for each moment they can vanish at. */
  clients: number
}

export const shortDisconnects: DisconnectOptions = { capacity: 4, clients: 8 }
export const longDisconnects: DisconnectOptions = { capacity: 4, clients: 120 }

const postPaths = ['/embed', '/features', '/segment', '/depth', '/analyze']

/**
 * Clients that go away mid-upload, while their work is queued, while it is being decoded and while a tiled request
 * runs: no permit, queue entry or gauge leaks, and the model never runs for work nobody waits for.
 */
export async function runDisconnects (options: DisconnectOptions): Promise<Report> {
  const parts = [
    await midUpload(options),
    await whileQueued(options),
    await whileDecoding(options),
    await whileTiling(options)
  ]
  return {
    scenario: 'disconnects',
    numbers: Object.assign({}, ...parts.map((p) => p.numbers)),
    checks: parts.flatMap((p) => p.checks)
  }
}

interface Part { numbers: Report['numbers'], checks: Check[] }

/** Headers announcing 8 MB, a few kB of it, then gone: the body is never complete, so nothing is admitted. */
async function midUpload (options: DisconnectOptions): Promise<Part> {
  const service = await startListening({ MAX_CONCURRENT_REQUESTS: String(options.capacity) })
  try {
    const png = await patternPng(256, 256)
    const runsBefore = backboneRuns(service.app)
    const watch = watchInFlight(service)
    for (let start = 0; start < options.clients; start += 2 * options.capacity) {
      const wave = Array.from({ length: Math.min(2 * options.capacity, options.clients - start) }, async (_, i) => {
        const path = postPaths[(start + i) % postPaths.length]
        const client = (start + i) % 2 === 0
          ? await RawRequest.upload(service.port, path, png.subarray(0, 4096 + i * 512), 8 * 1024 * 1024)
          : await partialMultipart(service.port, path, png)
        await sleep(10)
        client.destroy()
        await client.closed
      })
      await Promise.all(wave)
    }
    await waitFor('the server to drop the connections', async () => await connections(service) === 0)
    const seen = await watch.stop()
    return {
      numbers: { 'mid-upload clients': options.clients, 'mid-upload max in flight': seen.maxInFlight },
      checks: [
        check('mid-upload: an unfinished body never takes a permit', seen.maxInFlight === 0, `at most ${seen.maxInFlight} in flight`),
        ...await noLeaks('mid-upload', service, runsBefore, options.capacity)
      ]
    }
  } finally {
    await service.close()
  }
}

/** Whole bodies sent, then gone while the work waits for its batch (BATCH_WAIT_MS holds it in the queue). */
async function whileQueued (options: DisconnectOptions): Promise<Part> {
  const batchWaitMs = 400
  const service = await startListening({ MAX_CONCURRENT_REQUESTS: String(options.capacity), BATCH_WAIT_MS: String(batchWaitMs) })
  try {
    const png = await patternPng(64, 64)
    const batcher = service.app.modelHost.require().batcher
    const runsBefore = backboneRuns(service.app)
    const closedBefore = await metric(service.app, 'dinov3_failures_total', 'code="client_closed"')
    let slowestDropMs = 0
    for (let start = 0; start < options.clients; start += options.capacity) {
      const wave = Math.min(options.capacity, options.clients - start)
      const clients = await Promise.all(Array.from({ length: wave }, async (_, i) =>
        RawRequest.upload(service.port, postPaths[(start + i) % postPaths.length], png)))
      await waitFor(`${wave} images queued`, () => batcher.depth === wave)
      const destroyedAt = performance.now()
      for (const client of clients) client.destroy()
      await waitFor('the queue to empty', () => batcher.depth === 0, 1000)
      slowestDropMs = Math.max(slowestDropMs, performance.now() - destroyedAt)
      await waitFor('the permits to come back', async () => await metric(service.app, 'dinov3_requests_in_flight') === 0)
    }
    await sleep(batchWaitMs + 100)
    const closed = await metric(service.app, 'dinov3_failures_total', 'code="client_closed"') - closedBefore
    return {
      numbers: { 'queued clients': options.clients, 'queued: slowest drop ms': round(slowestDropMs) },
      checks: [
        check('queued: the departed clients\' work leaves the queue at once', slowestDropMs < batchWaitMs / 2, `slowest ${round(slowestDropMs)} ms after the disconnect (batch wait ${batchWaitMs} ms)`),
        check('queued: every departure is counted as client_closed', closed === options.clients, `${closed} of ${options.clients}`),
        ...await noLeaks('queued', service, runsBefore, options.capacity)
      ]
    }
  } finally {
    await service.close()
  }
}

/**
 * Gone right after admission, while a large image decodes: the permit must stay held until that work stops, or a
 * client could start unbounded decoding by connecting, uploading and leaving, over and over.
 */
async function whileDecoding (options: DisconnectOptions): Promise<Part> {
  const decodingWaitMs = 500
  const service = await startListening({ MAX_CONCURRENT_REQUESTS: String(options.capacity), BATCH_WAIT_FOR_DECODING_MS: String(decodingWaitMs) })
  try {
    const side = 1600
    const png = await sharp(patternRgb(side, side), rawInput(side, side)).png({ compressionLevel: 1 }).toBuffer()
    const runsBefore = backboneRuns(service.app)
    const decodes = async (): Promise<number> => metric(service.app, 'dinov3_stage_duration_seconds_count', 'stage="decode"')
    let decodedWithoutPermit = 0
    let admitted = 0
    // A departure exists for the service once its side of the connection closes; until then, a decode that finishes
    // sends its image to the model, rightly. On a starved machine that can happen: this loop sees the admission late,
    // or the decode's completion and the close reach the event loop together. So the run counter is read when the
    // server's socket closes (the counter moves when a run is dispatched): runs before that were not for dropped work.
    let runsWhenServerSawLeaving = Promise.resolve(0)
    const onConnection = (socket: Socket): void => {
      runsWhenServerSawLeaving = new Promise((resolve) => socket.once('close', () => resolve(backboneRuns(service.app))))
    }
    service.app.server.on('connection', onConnection)
    let leftAfterDecoding = 0
    for (let i = 0; i < options.clients; i++) {
      const runsAtUpload = backboneRuns(service.app)
      const client = await RawRequest.upload(service.port, i % 2 === 0 ? '/embed' : '/features', png)
      await waitFor('admission', async () => await metric(service.app, 'dinov3_requests_in_flight') > 0 || client.status !== 0)
      client.destroy()
      if (client.status === 0) admitted += 1
      const runsAtLeaving = await within(runsWhenServerSawLeaving, 5000)
      if (runsAtLeaving === undefined) throw new Error('the server did not see the client leave within 5 s')
      if (runsAtLeaving > runsAtUpload) leftAfterDecoding += 1
      await waitFor('the permit to come back', async () => await metric(service.app, 'dinov3_requests_in_flight') === 0)
      const settled = await decodes()
      await sleep(150)
      decodedWithoutPermit += await decodes() - settled
    }
    service.app.server.off('connection', onConnection)
    const leaks = await noLeaks('decoding', service, runsBefore, options.capacity, leftAfterDecoding)
    const lone = await service.client.post('/embed', await patternPng(64, 64))
    const loneQueueMs = Number(lone.headers['x-queue-time'])
    return {
      numbers: {
        'decoding clients': options.clients,
        'decoding: admitted before leaving': admitted,
        'decoding: left after their image reached the model': leftAfterDecoding,
        'decodes finished after the permit came back': decodedWithoutPermit
      },
      checks: [
        check('decoding: the clients left after admission', admitted === options.clients, `${admitted} of ${options.clients}`),
        check('decoding: most clients left while their image was decoding', leftAfterDecoding <= options.clients / 2,
          `${options.clients - leftAfterDecoding} of ${options.clients} (the others left after their image had reached the model)`),
        check('decoding: no work goes on once the permit is back', decodedWithoutPermit === 0, `${decodedWithoutPermit} decodes finished after the in-flight gauge read 0`),
        check('decoding: a lone request afterwards is not held for images that never come', lone.status === 200 && loneQueueMs < decodingWaitMs / 2,
          `status ${lone.status}, queued ${loneQueueMs} ms (BATCH_WAIT_FOR_DECODING_MS ${decodingWaitMs})`),
        ...leaks
      ]
    }
  } finally {
    await service.close()
  }
}

/** A tiled request of 64 backbone runs, abandoned after its first: the runs stop with it. */
async function whileTiling (options: DisconnectOptions): Promise<Part> {
  const tile = 32
  const service = await startListening({ MAX_CONCURRENT_REQUESTS: String(options.capacity), TILE_BATCH_PIXELS: String(tile * tile * 16) })
  try {
    const png = await patternPng(1024, 1024)
    const clients = Math.max(2, Math.ceil(options.clients / 4))
    let runsAfterLeaving = 0
    for (let i = 0; i < clients; i++) {
      const started = backboneRuns(service.app)
      const client = await RawRequest.upload(service.port, `/segment?tile=${tile}&overlap=0`, png)
      await waitFor('the first window batch', () => backboneRuns(service.app) > started, 10_000)
      client.destroy()
      const atLeaving = backboneRuns(service.app)
      await waitFor('the permit to come back', async () => await metric(service.app, 'dinov3_requests_in_flight') === 0)
      await sleep(100)
      runsAfterLeaving = Math.max(runsAfterLeaving, backboneRuns(service.app) - atLeaving)
    }
    return {
      numbers: { 'tiling clients': clients, 'tiling: most runs after leaving (of 64)': runsAfterLeaving },
      checks: [
        // The batch running when the client leaves finishes (a run cannot be cut short), and the next may have been
        // dispatched before the server saw the connection close; without the abort all 64 would run.
        check('tiling: the windows stop running when the client leaves', runsAfterLeaving <= 2, `at most ${runsAfterLeaving} of 64 backbone runs after the disconnect (limit 2: the running batch and one dispatched before the close was seen)`),
        ...await noLeaks('tiling', service, backboneRuns(service.app), options.capacity)
      ]
    }
  } finally {
    await service.close()
  }
}
