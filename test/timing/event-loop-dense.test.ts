import t from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { patternJpeg } from '../helpers/images.js'
import { livenessDuring } from '../helpers/liveness.js'
import { syntheticModel } from '../helpers/models.js'
import { LoopbackClient } from '../stress/scenarios/loopback-client.js'
import { spawnServer } from '../stress/scenarios/server-process.js'

// ViT-S/16's width (384 channels) in one block: a feature map as large as the real model's, for little model time.
const model = syntheticModel({ preset: 'tiny', seed: 384, spec: { hiddenSize: 384, depth: 1, heads: 6 } })

// The same method as event-loop.test.ts: the server in its own process, /health/live polled every 20 ms.
t.test('a large /features?format=json and a tiled /features of 176 windows keep /health/live answering within 100 ms', async (t) => {
  const server = await spawnServer({ MODEL: model, PREPROCESS_NICE: '0', REQUEST_TIMEOUT_MS: '600000', MAX_EVENT_LOOP_DELAY_MS: '0' }, 180_000)
  t.teardown(server.kill)
  const poller = new LoopbackClient(server.port)
  t.teardown(() => poller.close())
  const cases = [
    // 1024×768: a 384×48×64 map, 1.2 million numbers, 23 MB of JSON text.
    { path: '/features?format=json', width: 1024, height: 768, shape: [384, 48, 64] },
    // 3000×2000 in windows of 256 every 192 pixels: 16×11 windows, each normalised and blended into a 384×125×188 map.
    { path: '/features?tile=256', width: 3000, height: 2000, shape: [384, 125, 188] }
  ]
  for (const { path, width, height, shape } of cases) {
    const jpeg = await patternJpeg(width, height, 5)
    const { answer, report, waits } = await livenessDuring(poller, async () =>
      server.client.send(path, { body: jpeg, headers: { 'content-type': 'image/jpeg' }, timeoutMs: 600_000 }))
    const { maxWaitMs, polls, failures } = report
    t.comment(`${path} ${width}×${height}: ${Math.round(answer.ms)} ms, ${answer.body.length} bytes, longest /health/live wait ${maxWaitMs.toFixed(1)} ms over ${polls} polls (runs: ${waits.map((w) => w.toFixed(1)).join(', ')} ms)`)
    t.equal(answer.status, 200, path)
    const got = path.includes('json') ? JSON.parse(answer.body.toString('utf8')).images[0].shape : decodeNpy(answer.body).shape
    t.same(got, shape, `${path}: the whole map`)
    t.equal(failures, 0, `${path}: liveness always answered`)
    t.ok(polls >= 5, `${path}: polled throughout (${polls})`)
    t.ok(maxWaitMs < 100, `${path}: the longest liveness wait ${maxWaitMs.toFixed(1)} ms is under 100 ms`)
  }
})
