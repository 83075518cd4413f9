import { join } from 'node:path'
import t from 'tap'
import { createSession, cudaProviderInstalled, resolveProviders } from '../../src/inference/onnx-session.js'
import { startApp } from '../helpers/app.js'
import { syntheticModel } from '../helpers/models.js'
import { startOrtHost } from '../helpers/ort-host.js'

t.test('auto means CUDA only where its provider library is installed; CPU always closes the list', async (t) => {
  t.same(resolveProviders('auto'), cudaProviderInstalled() ? ['cuda', 'cpu'] : ['cpu'])
  t.same(resolveProviders(['cuda']), ['cuda'], 'no silent CPU fallback unless cpu is listed')
  t.same(resolveProviders(['webgpu', 'cpu']), ['webgpu', 'cpu'])
})

t.test('a provider that cannot load is a warning and a fallback, not a failure', { skip: cudaProviderInstalled() ? 'CUDA is installed here' : false }, async (t) => {
  const warnings: unknown[] = []
  const log = { fatal () {}, error () {}, info () {}, debug () {}, warn (...args: unknown[]) { warnings.push(args) } }
  const model = syntheticModel({ preset: 'tiny' })
  const { session, provider } = await createSession(await startOrtHost(t), join(model, 'onnx', 'model.onnx'), { providers: ['cuda', 'cpu'], intraOpThreads: 1, spinning: false }, log)
  t.equal(provider, 'cpu')
  t.equal(warnings.length, 1)
  t.match(JSON.stringify(warnings[0]), /execution provider cuda could not load/)
  await session.release()
  warnings.length = 0

  await t.rejects(createSession(await startOrtHost(t), join(model, 'onnx', 'model.onnx'), { providers: ['cuda'], intraOpThreads: 1, spinning: false }, log),
    /cuda|CUDA|shared library/, 'cuda alone: the start fails instead of serving on CPU')

  const app = await startApp(t, model, { EXECUTION_PROVIDERS: 'cuda,cpu' })
  t.equal((await app.inject({ method: 'GET', url: '/models' })).json().backbone.execution_provider, 'cpu', '/models reports the provider in use')
})
