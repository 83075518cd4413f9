import { patternPng } from '../../helpers/images.js'
import { RawRequest } from './raw-request.js'
import { check, type Check } from './report.js'
import { backboneRuns, metric, type ListeningService } from './service.js'
import { sleep } from './wait.js'

/**
 * Gauges at rest, the model untouched since `runsBefore`, and every permit free: `capacity` requests admitted at once.
 * `runsAllowed` counts clients that left only after their image had reached the model (a departure the service could
 * not have seen in time): their runs are not runs for dropped work.
 */
export async function noLeaks (label: string, service: ListeningService, runsBefore: number, capacity: number, runsAllowed = 0): Promise<Check[]> {
  const inFlight = await metric(service.app, 'dinov3_requests_in_flight')
  const depth = await metric(service.app, 'dinov3_queue_depth')
  const runs = backboneRuns(service.app) - runsBefore
  const png = await patternPng(64, 64)
  const answers = await Promise.all(Array.from({ length: capacity }, async () => service.client.post('/embed', png)))
  const served = answers.filter((a) => a.status === 200).length
  return [
    check(`${label}: gauges back at rest`, inFlight === 0 && depth === 0, `dinov3_requests_in_flight ${inFlight}, dinov3_queue_depth ${depth}`),
    check(`${label}: the model never ran for dropped work`, runs <= runsAllowed,
      runsAllowed === 0 ? `${runs} backbone runs` : `${runs} backbone runs, at most ${runsAllowed} allowed for clients that left after their image had reached the model`),
    check(`${label}: every permit is free again`, served === capacity, `${served} of ${capacity} concurrent requests served (${answers.map((a) => a.status).join(', ')})`)
  ]
}

/** Headers announcing 8 MB of multipart form, then the start of one file part. */
export async function partialMultipart (port: number, path: string, png: Buffer): Promise<RawRequest> {
  const boundary = 'stress-boundary-31f2'
  const client = await RawRequest.open(port, path, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': 8 * 1024 * 1024 })
  await client.write(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`)
  await client.write(png.subarray(0, 6000))
  return client
}

/** Connections the server still has open. */
export async function connections (service: ListeningService): Promise<number> {
  return new Promise((resolve, reject) => service.app.server.getConnections((error, count) => error === null ? resolve(count) : reject(error)))
}

/** Samples the in-flight gauge in the background, for the largest value seen. */
export function watchInFlight (service: ListeningService): { stop: () => Promise<{ maxInFlight: number }> } {
  let maxInFlight = 0
  let running = true
  const loop = (async () => {
    while (running) {
      maxInFlight = Math.max(maxInFlight, await metric(service.app, 'dinov3_requests_in_flight'))
      await sleep(2)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { maxInFlight }
    }
  }
}
