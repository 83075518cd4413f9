import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startApp, imageHeaders } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { waitFor } from '../stress/scenarios/wait.js'

const model = syntheticModel({ preset: 'tiny' })

t.test('a burst beyond the bound gets 429 with Retry-After for the excess, 200 for the rest; nothing hangs', async (t) => {
  const app = await startApp(t, model, { MAX_CONCURRENT_REQUESTS: '3', BATCH_WAIT_MS: '300' })
  const png = await patternPng(64, 64)
  const started = Date.now()
  const responses = await Promise.all(Array.from({ length: 12 }, async () =>
    app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })))
  const statuses = responses.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 3, 'the bound admits three')
  t.equal(statuses.filter((s) => s === 429).length, 9, 'the excess is refused at once')
  for (const refused of responses.filter((r) => r.statusCode === 429)) {
    t.equal(refused.headers['retry-after'], '1')
    t.equal(refused.json().error, 'overloaded')
  }
  t.ok(Date.now() - started < 5000, 'all answered')
  const after = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  t.equal(after.statusCode, 200, 'permits come back: the next request is served')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_requests_in_flight 0\n/)
})

t.test('past its deadline a request gets 504 and its queued work never reaches the model', async (t) => {
  const app = await startApp(t, model, { REQUEST_TIMEOUT_MS: '100', BATCH_WAIT_MS: '1000' })
  const backbone = app.modelHost.require().backbone
  const runsBefore = backbone.runCount
  const response = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: await patternPng(64, 64) })
  t.equal(response.statusCode, 504)
  t.equal(response.json().error, 'deadline_exceeded')
  t.match(response.json().message, /100 ms deadline/)
  t.equal(app.modelHost.require().batcher.depth, 0, 'dropped from the queue')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(backbone.runCount, runsBefore, 'the model never ran it')
})

t.test('a client that goes away while queued: its work is dropped, its permit returned', async (t) => {
  const app = await startApp(t, model, { BATCH_WAIT_MS: '600', MAX_CONCURRENT_REQUESTS: '1' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const backbone = app.modelHost.require().backbone
  const runsBefore = backbone.runCount
  const png = await patternPng(64, 64)

  const client = request({ host: '127.0.0.1', port, method: 'POST', path: '/embed', headers: imageHeaders() })
  client.on('error', () => {})
  client.end(png)
  await waitFor('the request in the queue', () => app.modelHost.require().batcher.depth === 1, 3000)
  client.destroy()
  await waitFor('the queue emptied', () => app.modelHost.require().batcher.depth === 0, 3000)
  await new Promise((resolve) => setTimeout(resolve, 700))
  t.equal(backbone.runCount, runsBefore, 'the model never ran for the departed client')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_failures_total\{code="client_closed"\} 1\n/)
  t.match(metrics, /dinov3_requests_in_flight 0\n/)
  const next = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  t.equal(next.statusCode, 200, 'the single permit was returned')
})
