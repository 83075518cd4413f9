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
