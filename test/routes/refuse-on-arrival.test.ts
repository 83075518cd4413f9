import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { RawRequest } from '../stress/scenarios/raw-request.js'
import { waitFor } from '../stress/scenarios/wait.js'

const model = syntheticModel({ preset: 'tiny' })
const imageRoutes = ['/embed', '/features', '/segment', '/depth', '/analyze', '/classify']
const megabyte = { 'content-type': 'application/octet-stream', 'content-length': 1 << 20 }

/**
 * The service with one permit, listening. UPLOAD_TIMEOUT_MS is short: should a refusal wait for the body, the test
 * fails in a second rather than in a minute.
 */
async function oneSlot (t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, port: number, png: Buffer }> {
  const app = await startApp(t, model, { BATCH_WAIT_MS: '1000', MAX_CONCURRENT_REQUESTS: '1', UPLOAD_TIMEOUT_MS: '1500', ...env })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port, png: await patternPng(64, 64) }
}

/** Takes the one permit with a request whose image waits a second for its batch; resolves once it is held. */
async function holdPermit (app: FastifyInstance, png: Buffer): Promise<{ released: Promise<number> }> {
  const released = app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png }).then((r) => r.statusCode)
  await waitFor('the holder\'s image in the queue', () => app.modelHost.require().batcher.depth === 1)
  return { released }
}

/** The first answer on a raw connection (an interim 100 Continue counts): its status, head and JSON body. */
async function answerOf (request: RawRequest): Promise<{ status: number, head: string, body: Record<string, unknown> }> {
  await waitFor('a whole answer', () => /\r\n\r\n\{[\s\S]*\}$/.test(request.response) || request.isClosed)
  const headEnd = request.response.indexOf('\r\n\r\n')
  const head = request.response.slice(0, headEnd)
  const status = request.status
  return { status, head, body: status < 200 ? {} : JSON.parse(request.response.slice(headEnd + 4)) }
}

t.test('at its limit every image route refuses a request as it arrives, before its body and its query', async (t) => {
  const { app, port, png } = await oneSlot(t)
  const held = await holdPermit(app, png)
  for (const route of imageRoutes) {
    const request = await RawRequest.open(port, `${route}?size=not-a-size`, megabyte)
    const answer = await answerOf(request)
    t.equal(answer.status, 429, `${route}: 429 with a megabyte announced and none sent`)
    t.match(answer.head, /\r\nretry-after: 1\r\n/i)
    t.equal(answer.body.error, 'overloaded')
    request.destroy()
  }
  t.equal(app.modelHost.require().batcher.depth, 1, 'the held request still waits')
  t.equal(await held.released, 200)
  const free = await app.inject({ method: 'POST', url: '/segment?size=not-a-size', headers: imageHeaders(), payload: png })
  t.equal(free.statusCode, 400, 'with the permit free, the same query is read and refused for what it says')
})

t.test('a refused upload keeps its connection: Node drops the body and the next request is answered', async (t) => {
  const { app, port, png } = await oneSlot(t)
  const held = await holdPermit(app, png)
  const request = await RawRequest.upload(port, '/embed', png)
  t.equal((await answerOf(request)).status, 429)
  const refusedBytes = request.response.length
  await request.write(`GET /health/live HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`)
  await waitFor('the next request\'s 200', () => /HTTP\/1\.1 200/.test(request.response.slice(refusedBytes)))
  t.notOk(request.isClosed, 'the same connection answered the next request')
  request.destroy()
  await held.released
})

t.test('Expect: 100-continue: told to send the body only when the request will be read', async (t) => {
  const { app, port, png } = await oneSlot(t)
  const continueHeaders = { ...imageHeaders(), 'content-length': png.length, expect: '100-continue' }

  const held = await holdPermit(app, png)
  const refused = await RawRequest.open(port, '/embed', continueHeaders)
  const answer = await answerOf(refused)
  t.equal(answer.status, 429, 'at the limit: the final answer, with no 100 Continue before it')
  t.notMatch(refused.response, /100 Continue/)
  refused.destroy()
  await held.released

  const admitted = await RawRequest.open(port, '/embed', continueHeaders)
  await waitFor('100 Continue', () => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(admitted.response))
  t.pass('with a permit free: 100 Continue')
  await admitted.write(png)
  await waitFor('the 200 after the body', () => /HTTP\/1\.1 200/.test(admitted.response))
  t.pass('then the body, and 200')
  admitted.destroy()
})

t.test('Expect: 100-continue on a route refused by its own guard: no 100 Continue either', async (t) => {
  const { port } = await oneSlot(t)
  const request = await RawRequest.open(port, '/heads/mine?task=classification', { 'content-type': 'multipart/form-data; boundary=x', 'content-length': 1 << 20, expect: '100-continue' })
  const answer = await answerOf(request)
  t.equal(answer.status, 404, 'fitting is off without ADMIN_TOKEN')
  t.equal(answer.body.error, 'fitting_disabled')
  t.notMatch(request.response, /100 Continue/)
  request.destroy()
})

t.test('a client refused before its body that never sends it is closed at the upload timeout, with no second answer', async (t) => {
  const { app, port, png } = await oneSlot(t, { UPLOAD_TIMEOUT_MS: '300' })
  const held = await holdPermit(app, png)
  const request = await RawRequest.open(port, '/segment', megabyte)
  const answer = await answerOf(request)
  t.equal(answer.status, 429)
  const answered = request.response
  await request.closed
  t.equal(request.response, answered, 'nothing after the 429 (no 408 on a connection whose request was answered)')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_failures_total\{code="overloaded"\} 1\n/)
  t.match(metrics, /dinov3_failures_total\{code="request_timeout"\} 0\n/, 'counted once, as the refusal it was')
  await held.released

  // The same silence from a request that was admitted is still a 408.
  const silent = await RawRequest.open(port, '/segment', megabyte)
  await silent.closed
  t.equal(silent.status, 408)
})
