import { join } from 'node:path'
import t from 'tap'
import { OrtHost } from '../../src/inference/ort-worker/ort-host.js'
import { syntheticModel } from '../helpers/models.js'

const pixels = { type: 'float32' as const, data: new Float32Array(3 * 32 * 48), dims: [1, 3, 32, 48] }

t.test('close releases the sessions and lets the inference thread end by itself, even with a release in flight', async (t) => {
  const file = join(syntheticModel({ preset: 'tiny' }), 'onnx', 'model.onnx')
  for (let round = 0; round < 5; round++) {
    const host = await OrtHost.start()
    const kept = await host.createSession(file, { executionProviders: ['cpu'] })
    const dropped = await host.createSession(file, { executionProviders: ['cpu'] })
    t.same((await kept.run({ pixel_values: pixels }, ['last_hidden_state'])).last_hidden_state.dims, [1, 1 + 4 + 6, 32])
    const releasing = dropped.release()
    t.equal(await host.close(), 'ended', `round ${round}: not stopped by force`)
    await releasing
    t.notOk(host.healthy, 'a closed host says so')
    await t.rejects(host.createSession(file, {}), /the inference thread is closed/)
  }
})

t.test('feeds handed over move to the inference thread without a copy; others are copied and stay usable', async (t) => {
  const file = join(syntheticModel({ preset: 'tiny' }), 'onnx', 'model.onnx')
  const host = await OrtHost.start()
  t.teardown(async () => { await host.close() })
  const session = await host.createSession(file, { executionProviders: ['cpu'] })
  const values = Float32Array.from({ length: 3 * 32 * 48 }, (_, i) => Math.sin(i))
  const kept = { type: 'float32' as const, data: values.slice(), dims: [1, 3, 32, 48] }
  const moved = { type: 'float32' as const, data: values.slice(), dims: [1, 3, 32, 48] }

  const copied = await session.run({ pixel_values: kept }, ['last_hidden_state'])
  t.equal(kept.data.length, values.length, 'a feed not handed over is still here after the run')
  t.same(kept.data, values)
  const handed = await session.run({ pixel_values: moved }, ['last_hidden_state'], { handOver: true })
  t.equal(moved.data.buffer.byteLength, 0, 'a feed handed over is detached here: it moved, it was not copied')
  t.same(handed.last_hidden_state.data, copied.last_hidden_state.data, 'and the run saw the same values')
})

t.test('with recycle, feeds handed over come back after the run, with the values they went with', async (t) => {
  const file = join(syntheticModel({ preset: 'tiny' }), 'onnx', 'model.onnx')
  const host = await OrtHost.start()
  t.teardown(async () => { await host.close() })
  const session = await host.createSession(file, { executionProviders: ['cpu'] })
  const values = Float32Array.from({ length: 3 * 32 * 48 }, (_, i) => Math.cos(i))
  const expected = await session.run({ pixel_values: { type: 'float32', data: values.slice(), dims: [1, 3, 32, 48] } }, ['last_hidden_state'])
  const moved = values.slice()
  const returned: ArrayBuffer[] = []
  const outputs = await session.run({ pixel_values: { type: 'float32', data: moved, dims: [1, 3, 32, 48] } }, ['last_hidden_state'], { handOver: true, recycle: (buffer) => returned.push(buffer) })
  t.equal(moved.buffer.byteLength, 0, 'moved to the inference thread')
  t.equal(returned.length, 1, 'one buffer back')
  t.same(new Float32Array(returned[0]), values, 'the same pixels, untouched by the run')
  t.same(outputs.last_hidden_state.data, expected.last_hidden_state.data, 'and the answer is the same')
  const copied = values.slice()
  await session.run({ pixel_values: { type: 'float32', data: copied, dims: [1, 3, 32, 48] } }, ['last_hidden_state'], { recycle: (buffer) => returned.push(buffer) })
  t.equal(returned.length, 1, 'feeds that were copied, not handed over, have nothing to give back')
})
