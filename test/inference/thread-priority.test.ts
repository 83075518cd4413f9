import t from 'tap'
import { PostPool } from '../../src/inference/post-pool/pool.js'
import { threadNiceValues } from '../../src/inference/thread-priority.js'
import { startApp } from '../helpers/app.js'
import { patternJpeg, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { spawnServer } from '../stress/scenarios/server-process.js'

const linuxOnly = { skip: process.platform === 'linux' ? false : 'thread priorities are set on Linux only' }
const model = syntheticModel({ preset: 'tiny' })

t.test('inference and the event loop keep their CPU priority; decoding yields to them', linuxOnly, async (t) => {
  const app = await startApp(t, model, { PREPROCESS_NICE: '15', INTRA_OP_THREADS: '2' })
  const engine = app.modelHost.require()
  const nice = threadNiceValues()
  t.equal(nice.get(engine.host.threadId), 0, 'the inference thread runs at the default priority')
  t.equal(nice.get(process.pid), 0, 'the event loop (HTTP, admission, probes) too')
  t.ok([...nice.values()].filter((v) => v === 0).length >= 3, 'ONNX Runtime\'s own pool thread, made by the inference thread, is not lowered')
  t.ok([...nice.values()].filter((v) => v === 15).length >= 4, 'the other threads are lowered')
})

t.test('every inference instance keeps its priority', linuxOnly, async (t) => {
  const app = await startApp(t, model, { PREPROCESS_NICE: '15', INFERENCE_INSTANCES: '2', INTRA_OP_THREADS: '1' })
  const nice = threadNiceValues()
  for (const host of app.modelHost.require().hosts) t.equal(nice.get(host.threadId), 0, `inference thread ${host.threadId}`)
  t.equal(nice.get(process.pid), 0)
})

t.test('post-processing threads lower themselves: the event loop that makes them keeps its priority', linuxOnly, async (t) => {
  const pool = new PostPool(2, 9)
  t.teardown(async () => pool.close())
  await pool.started
  const atNine = (): number => [...threadNiceValues().values()].filter((v) => v === 9).length
  t.equal(atNine(), 2)
  t.equal(threadNiceValues().get(process.pid), 0)
})

t.test('in the service as deployed, no thread made while serving runs at the event loop\'s priority', linuxOnly, async (t) => {
  const server = await spawnServer({ MODEL: model, PREPROCESS_NICE: '15', INTRA_OP_THREADS: '1' }, 120_000)
  t.teardown(server.kill)
  const pid = server.child.pid as number
  const atReady = threadNiceValues(pid)
  t.equal(atReady.get(pid), 0, 'the event loop keeps its priority')
  const kept = new Set([...atReady].filter(([, nice]) => nice === 0).map(([tid]) => tid))
  // A JPEG decoded on libuv's pool, a PNG by libvips, a feature picture made on the post-processing pool.
  const jpeg = await patternJpeg(640, 480)
  const png = await patternPng(320, 240)
  for (const [path, body, type] of [['/embed', jpeg, 'image/jpeg'], ['/embed', png, 'image/png'], ['/features?format=png', jpeg, 'image/jpeg']] as const) {
    const answer = await server.client.send(path, { body, headers: { 'content-type': type } })
    t.equal(answer.status, 200, path)
  }
  const after = threadNiceValues(pid)
  const atDefault = [...after].filter(([tid, nice]) => nice === 0 && !kept.has(tid))
  t.same(atDefault, [], 'threads made since start-up run below it')
  t.ok([...after.values()].filter((nice) => nice === 15).length >= 4, 'libuv\'s pool and the others are lowered')
})
