/**
 * tsx scripts/bench/refusal-cost.ts [--root DIR] [--seconds 2] [--rounds 3] [--clients 40]
 *
 * What refusing a request costs the service's event loop. The service has one permit (MAX_CONCURRENT_REQUESTS=1),
 * held by an /embed that waits for its batch (BATCH_WAIT_MS=1000, so holding it costs no CPU); meanwhile `clients`
 * keep-alive connections send /segment uploads as fast as they are answered, and all of them are refused with 429.
 * Measured: the CPU time of the service's main thread (from /proc) per refusal, less what it spends in as long a
 * window with only the holder, for a 512x512 JPEG and for the same padded to 3 MB (each size's first window warms up
 * and is not counted), and the service's peak RSS (VmHWM) after each size. The checkout at --root (this one by
 * default) is measured, so that an older one can be measured with the same client. Prints one JSON document.
 */
import { parseArgs } from 'node:util'
import { closedLoop } from '../../test/stress/scenarios/load-loops.js'
import { LoopbackClient } from '../../test/stress/scenarios/loopback-client.js'
import { eventLoopCpuMs } from './cpu-time.js'
import { benchModel, photoJpeg } from './fixtures.js'
import { startService } from './service-process.js'

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: process.cwd() },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '40' }
  }
})
const windowMs = Number(values.seconds) * 1000
const clients = Number(values.clients)

const jpeg = await photoJpeg(512, 512)
const uploads = { small: jpeg, large: Buffer.concat([jpeg, Buffer.alloc(3_000_000 - jpeg.length)]) }
const service = await startService({ MODEL: benchModel(), MAX_CONCURRENT_REQUESTS: '1', BATCH_WAIT_MS: '1000' }, values.root)
const port = Number(new URL(service.url).port)
const holderClient = new LoopbackClient(port)
const refusing = new LoopbackClient(port, { maxSockets: clients })
let holding = true
// Between two of its batch waits a refused upload may take the permit for one request: the holder then waits a
// little rather than be refused again and again, uncounted.
const holder = (async () => {
  while (holding) {
    const answer = await holderClient.post('/embed', jpeg, { timeoutMs: 30_000 })
    if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20))
  }
})()

const results: Record<string, unknown> = { root: values.root, clients, windowMs }
try {
  for (const [name, upload] of Object.entries(uploads)) {
    const rounds = []
    for (let round = -1; round < Number(values.rounds); round++) {
      let started = eventLoopCpuMs(service.pid)
      const quietStarted = performance.now()
      await new Promise((resolve) => setTimeout(resolve, windowMs))
      const quietMsPerSecond = (eventLoopCpuMs(service.pid) - started) / (performance.now() - quietStarted) * 1000
      started = eventLoopCpuMs(service.pid)
      const traffic = await closedLoop(refusing, async (client) => client.post('/segment', upload, { timeoutMs: 30_000 }), clients, { ms: windowMs })
      const busyMs = eventLoopCpuMs(service.pid) - started
      const refused = traffic.answers.filter((answer) => answer.status === 429).length
      if (round < 0) continue
      rounds.push({
        refused,
        refusedPerSecond: Math.round(refused / traffic.seconds),
        others: traffic.answers.length - refused,
        loopMsPerRefusal: Math.round((busyMs - quietMsPerSecond * traffic.seconds) / refused * 1000) / 1000
      })
      process.stderr.write(`${name} (${upload.length} bytes): ${JSON.stringify(rounds.at(-1))}\n`)
    }
    results[name] = { bytes: upload.length, rounds, peakRssMiB: Math.round(service.peakRssMiB()) }
  }
} finally {
  holding = false
  await holder
  holderClient.close()
  refusing.close()
  await service.stop()
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
