import { patternPng } from '../../helpers/images.js'
import { RawRequest } from './raw-request.js'
import { check, round, type Report } from './report.js'
import { backboneRuns, metric, startListening } from './service.js'
import { sleep } from './wait.js'

export interface SlowUploadOptions {
  /** UPLOAD_TIMEOUT_MS, the time a client has to send its whole request. */
  uploadTimeoutMs: number
  /** Slow clients trickling at once, each byte by byte. */
  slowClients: number
  /** Gap between two bytes of a slow client. */
  byteIntervalMs: number
}

export const shortSlowUpload: SlowUploadOptions = { uploadTimeoutMs: 1000, slowClients: 2, byteIntervalMs: 20 }
export const longSlowUpload: SlowUploadOptions = { uploadTimeoutMs: 3000, slowClients: 50, byteIntervalMs: 10 }

/**
 * Bodies trickled byte by byte, with a single model slot (MAX_CONCURRENT_REQUESTS=1): they are cut off at the upload
 * timeout without ever holding the slot, and a normal request is served while they trickle.
 */
export async function runSlowUpload (options: SlowUploadOptions): Promise<Report> {
  const service = await startListening({ MAX_CONCURRENT_REQUESTS: '1', UPLOAD_TIMEOUT_MS: String(options.uploadTimeoutMs) })
  try {
    const png = await patternPng(64, 64)
    const runsBefore = backboneRuns(service.app)
    const started = performance.now()
    const slow = await Promise.all(Array.from({ length: options.slowClients }, async () => RawRequest.open(service.port, '/embed', {
      'content-type': 'application/octet-stream', 'content-length': png.length
    })))
    const cutAt: number[] = []
    const trickles = slow.map(async (client) => {
      // Trickle until the server hangs up, or for three times the timeout: a server that never cuts it off fails.
      for (let i = 0; i < png.length && !client.isClosed && performance.now() - started < 3 * options.uploadTimeoutMs; i++) {
        await client.write(png.subarray(i, i + 1))
        await sleep(options.byteIntervalMs)
      }
      cutAt.push(client.isClosed ? performance.now() - started : Infinity)
      client.destroy()
    })
    await sleep(options.uploadTimeoutMs / 4)
    const inFlightWhileTrickling = await metric(service.app, 'dinov3_requests_in_flight')
    const normal = await service.client.post('/embed', png, { timeoutMs: options.uploadTimeoutMs })
    const normalWhileTrickling = slow.every((client) => !client.isClosed)
    await Promise.all(trickles)
    const statuses = slow.map((client) => client.status)
    const latestCut = Math.max(...cutAt)
    const inFlight = await metric(service.app, 'dinov3_requests_in_flight')
    const runs = backboneRuns(service.app) - runsBefore
    const after = await service.client.post('/embed', png)
    // Node checks for expired requests on a timer, so the cut comes up to one check interval after the timeout.
    const allowedMs = options.uploadTimeoutMs * 1.5 + 500
    return {
      scenario: 'slow uploads',
      numbers: {
        'slow clients': options.slowClients,
        'upload timeout ms': options.uploadTimeoutMs,
        'latest cut-off ms': round(latestCut),
        'normal request ms while trickling': round(normal.ms),
        'slow clients answered': statuses.join(' ')
      },
      checks: [
        check('a trickling body holds no model slot', inFlightWhileTrickling === 0, `${inFlightWhileTrickling} in flight while ${options.slowClients} clients trickle`),
        check('a normal request is served while they trickle', normal.status === 200 && normalWhileTrickling, `status ${normal.status} in ${round(normal.ms)} ms, slow clients still connected: ${normalWhileTrickling}`),
        check('trickled bodies are cut off at the upload timeout', latestCut <= allowedMs, `latest cut after ${round(latestCut)} ms (timeout ${options.uploadTimeoutMs} ms, allowed ${allowedMs})`),
        check('a cut-off client is told so (408) or hung up on', statuses.every((s) => s === 408 || s === 0), `statuses ${statuses.join(', ')}`),
        check('the model never ran for them and nothing stays in flight', runs === 1 && inFlight === 0,
          `${runs} backbone runs (1 for the normal request), ${inFlight} in flight`),
        check('afterwards the slot is free', after.status === 200, `status ${after.status}`)
      ]
    }
  } finally {
    await service.close()
  }
}
