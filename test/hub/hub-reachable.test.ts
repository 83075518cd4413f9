import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { hubReachable } from '../../src/hub/hub-reachable.js'
import { startFakeHub, unusedEndpoint } from './fake-hub.js'

t.test('a listening hub is reachable', async (t) => {
  const hub = await startFakeHub()
  t.teardown(() => hub.close())
  t.equal(await hubReachable(hub.endpoint, 2000), true)
  t.equal(hub.requests[0]?.method, 'HEAD')
})

t.test('a refused connection is not reachable', async (t) => {
  t.equal(await hubReachable(await unusedEndpoint(), 2000), false)
})

t.test('a server that never answers is not reachable once the timeout passes', async (t) => {
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        silent.closeAllConnections()
        silent.close(() => resolve())
      })
  )
  const started = Date.now()
  t.equal(await hubReachable(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 150), false)
  t.ok(Date.now() - started < 2000, 'gives up promptly')
})

t.test('a server error still means the network is up', async (t) => {
  const failing = createServer((_req, res) => res.writeHead(503).end())
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => failing.close(() => resolve())))
  t.equal(await hubReachable(`http://127.0.0.1:${(failing.address() as AddressInfo).port}`, 2000), true)
})
