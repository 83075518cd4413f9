import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { CoreLoad } from '../../scripts/bench/lean-server.js'
import { startService } from '../../scripts/bench/service-process.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternJpeg } from '../helpers/images.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'

const model = syntheticModel({ preset: 'tiny' })
// One thread each, so that both sum in the same order whatever the machine.
const env = { MODEL: model, INTRA_OP_THREADS: '1' }

t.test('the lean server answers what the service answers: the same core, only the HTTP around it differs', async (t) => {
  const lean = await startService(env, process.cwd(), { entry: 'scripts/bench/lean-server.ts', ipc: true })
  t.teardown(lean.stop)
  const app = await startApp(t, model, env)
  const jpeg = await patternJpeg(500, 375)

  const leanAnswer = await fetch(`${lean.url}/embed`, { method: 'POST', body: jpeg, headers: imageHeaders('image/jpeg') })
  t.equal(leanAnswer.status, 200)
  const { embeddings } = await leanAnswer.json() as { embeddings: number[][] }
  const served = (await app.inject({ method: 'POST', url: '/embed', payload: jpeg, headers: imageHeaders('image/jpeg') })).json<{ embeddings: number[][] }>()
  t.equal(embeddings[0].length, 32, 'the tiny backbone\'s width')
  t.same(embeddings, served.embeddings, 'bit for bit the service\'s CLS embedding')

  t.equal((await fetch(`${lean.url}/features`, { method: 'POST', body: jpeg })).status, 404, 'nothing but /embed')

  const bodyFile = join(scratchDir(t), 'body.jpg')
  writeFileSync(bodyFile, jpeg)
  const load = await new Promise<{ images: number, seconds: number }>((resolve) => {
    lean.child.once('message', resolve)
    lean.child.send({ clients: 2, seconds: 0.5, bodyFile } satisfies CoreLoad)
  })
  t.ok(load.images > 0, `the in-process load ran ${load.images} images`)
  t.ok(load.seconds >= 0.5, 'for the time asked')
})
