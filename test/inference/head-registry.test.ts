import t from 'tap'
import { ServiceError } from '../../src/errors.js'
import { HeadRegistry } from '../../src/inference/heads/head-registry.js'
import { Head } from '../../src/inference/heads/head.js'
import type { SessionLike } from '../../src/inference/ort-worker/ort-host.js'
import type { TensorData } from '../../src/inference/ort-worker/protocol.js'

/** A session whose runs end when the test says so, and which records its release. */
function heldSession () {
  const pending: Array<() => void> = []
  const state = { released: false, runs: 0 }
  const session: SessionLike = {
    inputNames: ['patch_features'],
    outputNames: ['logits'],
    inputMetadata: [],
    outputMetadata: [],
    run: async () => {
      if (state.released) throw new Error('run on a released session')
      state.runs += 1
      await new Promise<void>((resolve) => pending.push(resolve))
      return { logits: { type: 'float32', data: new Float32Array(2), dims: [1, 2, 1, 1] } as TensorData }
    },
    release: async () => { state.released = true }
  }
  return { session, state, finishRuns: () => pending.splice(0).forEach((resolve) => resolve()) }
}

const feeds = { patchFeatures: new Float32Array(4), batch: 1, channels: 4, gridHeight: 1, gridWidth: 1, height: 16, width: 16 }

t.test('a head removed while a request runs it: gone from the registry at once, released only after the run', async (t) => {
  const { session, state, finishRuns } = heldSession()
  const head = new Head('fitted', { task: 'segmentation', labels: ['a', 'b'] }, ['patch_features'], session, 'logits', { dir: '/heads/fitted', inHeadsDir: true })
  const registry = new HeadRegistry([])
  registry.add(head)
  t.equal(registry.pick('segmentation', 'fitted'), head)
  t.throws(() => registry.add(head), new ServiceError('name_in_use', 'a head named "fitted" is already served'))

  const running = head.run(feeds)
  const removed = registry.remove('fitted')
  t.equal(registry.find('fitted'), undefined, 'no new request can pick it')
  t.throws(() => registry.pick('segmentation', 'fitted'), /no head "fitted"/)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(state.released, false, 'not released while its run is under way')
  await t.rejects(head.run(feeds), { code: 'not_found', message: 'head "fitted" was deleted while this request ran' }, 'a late run is a clear 404')
  finishRuns()
  t.same((await running).planes, 2, 'the run under way completes')
  await removed
  t.equal(state.released, true, 'then the session is released')
  t.equal(state.runs, 1)
})

t.test('heads stay sorted by name as they come and go; only fitted heads in HEADS_DIR count as fitted', async (t) => {
  const make = (name: string, inHeadsDir: boolean, backbone = true) => new Head(name, {
    task: 'depth',
    unit: 'm',
    ...(backbone ? { backbone: { name: 'm', model_type: 'dinov3_vit', dim: 4, patch: 16, registers: 0, variant: 'fp32' } } : {})
  }, ['patch_features'], heldSession().session, 'depth', { dir: `/x/${name}`, inHeadsDir })
  const registry = new HeadRegistry([make('m', false), make('b', true)])
  registry.add(make('c', true, false))
  registry.add(make('a', true))
  t.same(registry.list().map((h) => h.name), ['a', 'b', 'c', 'm'])
  t.same(registry.list().map((h) => h.fitted), [true, true, false, false], 'a head without a backbone record, or from the model folder, is not fitted')
  await registry.remove('b')
  t.same(registry.list().map((h) => h.name), ['a', 'c', 'm'])
})
