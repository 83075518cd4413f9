import t from 'tap'
import { threadNiceValues } from '../../src/inference/thread-priority.js'
import { startApp } from '../helpers/app.js'
import { syntheticModel } from '../helpers/models.js'

t.test('inference keeps its CPU priority; decoding and HTTP yield to it', { skip: process.platform === 'linux' ? false : 'thread priorities are set on Linux only' }, async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }), { PREPROCESS_NICE: '15', INTRA_OP_THREADS: '2' })
  const engine = app.modelHost.require()
  const nice = threadNiceValues()
  t.equal(nice.get(engine.host.threadId), 0, 'the inference thread runs at the default priority')
  t.equal(nice.get(process.pid), 15, 'the main (HTTP, normalisation) thread is lowered')
  t.ok([...nice.values()].filter((v) => v === 0).length >= 2, 'ONNX Runtime\'s own pool thread, made by the inference thread, is not lowered')
  t.ok([...nice.values()].filter((v) => v === 15).length >= 2, 'the other threads are lowered')
})

t.test('every inference instance keeps its priority', { skip: process.platform === 'linux' ? false : 'thread priorities are set on Linux only' }, async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }), { PREPROCESS_NICE: '15', INFERENCE_INSTANCES: '2', INTRA_OP_THREADS: '1' })
  const nice = threadNiceValues()
  for (const host of app.modelHost.require().hosts) t.equal(nice.get(host.threadId), 0, `inference thread ${host.threadId}`)
  t.equal(nice.get(process.pid), 15)
})
