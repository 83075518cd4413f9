import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { startApp } from '../helpers/app.js'
import { syntheticModel } from '../helpers/models.js'

t.test('ready only once the model is loaded and warmed up; live at once', async (t) => {
  const model = syntheticModel({ preset: 'tiny' })
  const app = await buildApp(loadConfig({ MODEL: model, LOG_LEVEL: 'silent' }), { logger: false })
  t.teardown(async () => app.close())
  await app.ready()
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200)
  const early = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(early.statusCode, 503, 'still loading')
  t.equal(early.json().error, 'not_ready')
  t.ok(Number(early.headers['retry-after']) > 0, 'with Retry-After')
  const earlyEmbed = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': 'image/png' }, payload: Buffer.from([0x89, 0x50]) })
  t.equal(earlyEmbed.statusCode, 503, 'inference refused while loading')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_ready 0\n/)

  await app.modelHost.loaded
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })
  t.ok(app.modelHost.require().backbone.runCount >= 1, 'warmed up with a run')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_ready 1\n/)
})

t.test('/models describes the backbone from its folder, synthetic included', async (t) => {
  const model = syntheticModel({ preset: 'tiny', spec: { patchSize: 14, registers: 0 }, imageSize: 112 })
  const app = await startApp(t, model)
  const response = await app.inject({ method: 'GET', url: '/models' })
  t.equal(response.statusCode, 200)
  const { backbone } = response.json()
  t.match(backbone, {
    type: 'dinov3_vit',
    patch_size: 14,
    hidden_size: 32,
    registers: 0,
    variant: 'fp32',
    execution_provider: 'cpu',
    synthetic: true,
    input_size: { height: 112, width: 112 },
    image_mean: [0.485, 0.456, 0.406]
  })
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, new RegExp(`dinov3_model_info\\{name="${backbone.name}",type="dinov3_vit",variant="fp32",provider="cpu",synthetic="true"\\} 1`))
})

t.test('if the inference thread dies, readiness turns false and requests get 503, not hangs', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const engine = app.modelHost.require()
  await (engine.host as unknown as { worker: { terminate: () => Promise<number> } }).worker.terminate()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json().message, /inference thread died/)
})
