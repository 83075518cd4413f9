import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startApp } from '../helpers/app.js'
import { syntheticModel } from '../helpers/models.js'
import { RawRequest } from '../stress/scenarios/raw-request.js'
import { waitFor, within } from '../stress/scenarios/wait.js'

interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** Whether the answer came before the pause was over (so before the client wrote again). */
  answeredInPause: boolean
}

/** Writes `chunks` to a fresh connection, the next one only after `pauseMs`, and reads until the server hangs up. */
async function sendRaw (port: number, chunks: string[], pauseMs = 0): Promise<RawAnswer> {
  const request = await RawRequest.connect(port)
  let answeredInPause = false
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0) answeredInPause = await within(request.closed.then(() => true), pauseMs) === true
    await request.write(chunk)
  }
  await request.closed
  const [head, body = ''] = request.response.split('\r\n\r\n')
  const headers = Object.fromEntries(head.split('\r\n').slice(1).map((line) => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
  }))
  return { status: request.status, headers, body, answeredInPause }
}

t.test('what Node refuses before routing is answered in the service\'s error model, counted and logged', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }), { UPLOAD_TIMEOUT_MS: '300' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  const cases: Array<{ name: string, chunks: string[], pauseMs: number, id?: string, status: number, code: string, message: RegExp }> = [
    {
      name: 'a body that stops arriving',
      chunks: ['POST /embed HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-upload-7\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n\x89PNG', 'more'],
      pauseMs: 1500,
      id: 'slow-upload-7',
      status: 408,
      code: 'request_timeout',
      message: /did not arrive in full within 300 ms \(UPLOAD_TIMEOUT_MS\)/
    },
    {
      name: 'headers that never end',
      chunks: ['POST /embed HTTP/1.1\r\nHost: x\r\n'],
      pauseMs: 0,
      status: 408,
      code: 'request_timeout',
      message: /300 ms/
    },
    {
      name: 'headers over Node\'s limit',
      chunks: [`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
      pauseMs: 0,
      status: 431,
      code: 'headers_too_large',
      message: /headers are over the limit of 16384 bytes/
    },
    {
      name: 'bytes that are not HTTP',
      chunks: ['HELLO THERE\r\n\r\n'],
      pauseMs: 0,
      status: 400,
      code: 'bad_request',
      message: /not valid HTTP\/1\.1 \(HPE_/
    }
  ]
  for (const c of cases) {
    const answer = await sendRaw(port, c.chunks, c.pauseMs)
    t.equal(answer.status, c.status, `${c.name}: ${c.status}`)
    t.match(answer.headers['content-type'], /application\/json/, `${c.name}: JSON`)
    if (c.id === undefined) {
      t.match(answer.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${c.name}: an x-request-id of its own`)
    } else {
      t.equal(answer.headers['x-request-id'], c.id, `${c.name}: the id of the request whose body was being read`)
    }
    t.equal(answer.headers.connection, 'close', `${c.name}: the connection closes`)
    t.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.body), `${c.name}: content-length fits the body`)
    const body = JSON.parse(answer.body)
    t.same(Object.keys(body).sort(), ['error', 'message'], `${c.name}: {error, message}`)
    t.equal(body.error, c.code, `${c.name}: ${c.code}`)
    t.match(body.message, c.message, `${c.name}: ${body.message}`)
    if (c.pauseMs > 0) t.ok(answer.answeredInPause, `${c.name}: answered at the timeout, before the client wrote again`)
  }

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_failures_total\{code="request_timeout"\} 2\n/)
  t.match(metrics, /dinov3_failures_total\{code="headers_too_large"\} 1\n/)
  t.match(metrics, /dinov3_failures_total\{code="bad_request"\} 1\n/)
  t.match(metrics, /dinov3_failures_total\{code="client_closed"\} 0\n/, 'the request cut off by the timeout is not counted twice')

  const live = await fetch(`http://127.0.0.1:${port}/health/live`)
  t.equal(live.status, 200, 'the server answers the next request')
})

t.test('a client that resets mid-body is not answered, and is counted once, as client_closed', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }), { UPLOAD_TIMEOUT_MS: '300' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const started = new Promise((resolve) => app.server.once('request', resolve))
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\nab')
  // Reset only once the server reads the request: before that there is no request to fail.
  await started
  socket.resetAndDestroy()
  const failures = async (code: string): Promise<number> => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    return Number(new RegExp(`dinov3_failures_total\\{code="${code}"\\} (\\d+)`).exec(text)?.[1])
  }
  await waitFor('the departure to be counted', async () => await failures('client_closed') > 0)
  t.equal(await failures('client_closed'), 1)
  // The upload timeout (300 ms) has passed by then as well, and must not have answered the gone client.
  await new Promise((resolve) => setTimeout(resolve, 400))
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_failures_total\{code="request_timeout"\} 0\n/, 'no timeout counted for a client that is gone')
  t.match(metrics, /dinov3_failures_total\{code="bad_request"\} 0\n/)
})
