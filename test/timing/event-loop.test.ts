import t from 'tap'
import sharp from 'sharp'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternJpeg, patternPng } from '../helpers/images.js'
import { livenessDuring } from '../helpers/liveness.js'
import { syntheticModel } from '../helpers/models.js'
import { LoopbackClient } from '../stress/scenarios/loopback-client.js'
import { spawnServer } from '../stress/scenarios/server-process.js'

// ADE20K's size of head: 150 classes, whose argmax at the input's size is the heavy part of /segment.
const model = syntheticModel({ preset: 'tiny', seed: 150, heads: { classes: 150 } })

t.test('a 12-megapixel image through a 150-class head keeps /health/live answering within 100 ms', async (t) => {
  // The server runs in a process of its own, so that what is measured is its event loop, not this test's (which
  // writes the 12-megapixel upload and reads the answers). The default priorities: the event loop keeps its own.
  const server = await spawnServer({ MODEL: model, PREPROCESS_NICE: '19', REQUEST_TIMEOUT_MS: '600000', MAX_EVENT_LOOP_DELAY_MS: '0' }, 180_000)
  t.teardown(server.kill)
  const poller = new LoopbackClient(server.port)
  t.teardown(() => poller.close())
  const [width, height] = [4000, 3000]
  const jpeg = await patternJpeg(width, height, 3)
  for (const path of ['/segment', '/segment?format=overlay', '/features?format=png']) {
    const { answer, report, waits } = await livenessDuring(poller, async () =>
      server.client.send(path, { body: jpeg, headers: { 'content-type': 'image/jpeg' }, timeoutMs: 600_000 }))
    const { maxWaitMs, polls, failures } = report
    t.comment(`${path}: ${Math.round(answer.ms)} ms, longest /health/live wait ${maxWaitMs.toFixed(1)} ms over ${polls} polls (runs: ${waits.map((w) => w.toFixed(1)).join(', ')} ms)`)
    t.equal(answer.status, 200, path)
    const picture = await sharp(answer.body).metadata()
    t.same([picture.width, picture.height, picture.channels], [width, height, path === '/segment' ? 1 : 3], `${path}: a picture at the input's size`)
    t.equal(failures, 0, `${path}: liveness always answered`)
    t.ok(polls >= 5, `${path}: polled throughout (${polls})`)
    t.ok(maxWaitMs < 100, `${path}: the longest liveness wait ${maxWaitMs.toFixed(1)} ms is under 100 ms`)
  }
})

t.test('a lagging event loop turns readiness false and refuses new work with 503 and Retry-After', async (t) => {
  const app = await startApp(t, model, { MAX_EVENT_LOOP_DELAY_MS: '100' })
  const png = await patternPng(64, 48)
  // Starting the app (loading and compiling modules) may itself lag the loop: wait until that has passed.
  let ready = await app.inject({ method: 'GET', url: '/health/ready' })
  for (const until = performance.now() + 10_000; ready.statusCode !== 200 && performance.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    ready = await app.inject({ method: 'GET', url: '/health/ready' })
  }
  t.equal(ready.statusCode, 200, 'ready before')

  const until = performance.now() + 300
  while (performance.now() < until) { /* the loop held for 300 ms, as a synchronous 12-megapixel argmax did */ }
  await new Promise((resolve) => setTimeout(resolve, 25)) // the sampling timer runs first after the stall

  const lagging = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(lagging.statusCode, 503, 'not ready while lagging')
  t.equal(lagging.json().error, 'not_ready')
  t.match(lagging.json().message, /event loop lagged \d+ ms behind, over MAX_EVENT_LOOP_DELAY_MS=100/)
  t.equal(lagging.headers['retry-after'], '1')
  const refused = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  t.equal(refused.statusCode, 503, 'new work refused')
  t.equal(refused.headers['retry-after'], '1')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness still answers')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const below = Number(/dinov3_event_loop_delay_seconds_bucket\{le="0.256"\} (\d+)/.exec(metrics)?.[1])
  const all = Number(/dinov3_event_loop_delay_seconds_count (\d+)/.exec(metrics)?.[1])
  t.ok(all - below >= 1, `the stall is in the delay histogram, over 256 ms (${all - below} such delays of ${all})`)

  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'ready again once the loop keeps up')
  t.equal((await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })).statusCode, 200, 'work admitted again')
})
