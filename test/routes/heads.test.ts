import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { encodePng } from '../../src/image/png.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { bearer, field, file, postFit, TOKEN, waitForJob, type FitPart } from '../helpers/fit-form.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { scene, SCENE_LABELS } from '../fitting/scenes.js'

const model = syntheticModel({ preset: 'tiny', seed: 11, heads: true })

async function fittingApp (t: Test, env: Record<string, string> = {}) {
  const headsDir = scratchDir(t)
  const app = await startApp(t, model, { ADMIN_TOKEN: TOKEN, HEADS_DIR: headsDir, ...env })
  return { app, headsDir }
}

/** Segmentation pairs of the synthetic scenes, image then mask, and the labels field. */
function segmentationParts (seeds: number[], size = 64): FitPart[] {
  const parts: FitPart[] = [field('labels', SCENE_LABELS.join(','))]
  for (const seed of seeds) {
    const s = scene(seed, size, size)
    parts.push(file('image', `scene-${seed}.png`, s.png), file('mask', `scene-${seed}-mask.png`, s.mask))
  }
  return parts
}

t.test('without ADMIN_TOKEN the fitting routes answer 404 fitting_disabled and fit nothing', async (t) => {
  const headsDir = scratchDir(t)
  const app = await startApp(t, model, { HEADS_DIR: headsDir })
  const answers = [
    await postFit(app, 'shapes', 'task=segmentation', segmentationParts([1, 2])),
    await app.inject({ method: 'GET', url: '/heads/shapes/job', headers: bearer() }),
    await app.inject({ method: 'DELETE', url: '/heads/segmentation', headers: bearer() })
  ]
  for (const response of answers) {
    t.equal(response.statusCode, 404)
    t.equal(response.json().error, 'fitting_disabled')
    t.match(response.json().message, 'ADMIN_TOKEN')
  }
  t.same(readdirSync(headsDir), [], 'nothing written')
  t.ok((await app.inject('/models')).json().heads.some((h: { name: string }) => h.name === 'segmentation'), 'the model\'s head is still there')
})

t.test('with ADMIN_TOKEN a missing or wrong bearer token is 401 with WWW-Authenticate; the right one passes', async (t) => {
  const { app } = await fittingApp(t)
  const cases: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['wrong token, same length', bearer(TOKEN.replace(/.$/, 'x'))],
    ['wrong token, shorter', bearer('short')],
    ['token as Basic', { authorization: `Basic ${TOKEN}` }],
    ['bare token', { authorization: TOKEN }]
  ]
  for (const [what, headers] of cases) {
    for (const [method, url] of [['GET', '/heads/shapes/job'], ['DELETE', '/heads/shapes'], ['POST', '/heads/shapes?task=depth']] as const) {
      const response = await app.inject({ method, url, headers })
      t.equal(response.statusCode, 401, `${what}: ${method} ${url}`)
      t.equal(response.json().error, 'unauthorized')
      t.match(response.headers['www-authenticate'], /^Bearer /)
    }
  }
  const allowed = await app.inject({ method: 'GET', url: '/heads/shapes/job', headers: bearer() })
  t.equal(allowed.statusCode, 404, 'the right token reaches the route')
  t.equal(allowed.json().error, 'not_found')
  t.match(allowed.json().message, 'no fitting job for "shapes"')
  const lowerCase = await app.inject({ method: 'GET', url: '/heads/shapes/job', headers: { authorization: `bearer ${TOKEN}` } })
  t.equal(lowerCase.statusCode, 404, 'the scheme is case-insensitive (RFC 7235)')
})

t.test('a short ADMIN_TOKEN stops the start', async (t) => {
  const { loadConfig } = await import('../../src/config.js')
  t.throws(() => loadConfig({ ADMIN_TOKEN: 'secret' }), /ADMIN_TOKEN is 6 characters; use at least 16/)
})

t.test('head names are validated and a name in use is 409', async (t) => {
  const { app } = await fittingApp(t)
  for (const name of ['.hidden', '-dash', 'a%2Fb', '..%2F..%2Fetc', 'x'.repeat(65), 'sp%20ace']) {
    const response = await postFit(app, name, 'task=segmentation', segmentationParts([1, 2]))
    t.equal(response.statusCode, 400, name)
    t.equal(response.json().error, 'bad_request')
    const deleted = await app.inject({ method: 'DELETE', url: `/heads/${name}`, headers: bearer() })
    t.equal(deleted.statusCode, 400, `DELETE ${name}`)
  }
  const dots = await postFit(app, '%2E%2E', 'task=segmentation', segmentationParts([1, 2]))
  t.equal(dots.statusCode, 404, '.. never reaches the route')
  t.equal(dots.json().error, 'not_found')
  const served = await postFit(app, 'segmentation', 'task=segmentation', segmentationParts([1, 2]))
  t.equal(served.statusCode, 409)
  t.equal(served.json().error, 'name_in_use')
  t.match(served.json().message, 'a head named "segmentation" is already served')
  const badTask = await postFit(app, 'shapes', 'task=detection', segmentationParts([1, 2]))
  t.equal(badTask.statusCode, 400)
  t.match(badTask.json().message, 'task must be one of: segmentation, depth, classification')
  const badFraction = await postFit(app, 'shapes', 'task=segmentation&val_fraction=1', segmentationParts([1, 2]))
  t.equal(badFraction.statusCode, 400)
})

t.test('bad datasets are refused before a job starts, naming the file', async (t) => {
  const { app, headsDir } = await fittingApp(t)
  const a = scene(1, 64, 64)
  const b = scene(2, 64, 64)
  const small = scene(3, 48, 64)
  const labels = field('labels', SCENE_LABELS.join(','))
  const outOfRange = encodePng({ data: new Uint8Array(64 * 64).fill(7), width: 64, height: 64, colour: 'gray' })
  const cases: Array<[string, string, FitPart[], number, RegExp]> = [
    ['mask of another size', 'task=segmentation', [labels, file('image', 'a.png', a.png), file('mask', 'a-mask.png', a.mask), file('image', 'b.png', b.png), file('mask', 'small-mask.png', small.mask)],
      400, /small-mask\.png: the mask is 48×64 but its image b\.png is 64×64/],
    ['image without its mask', 'task=segmentation', [labels, file('image', 'a.png', a.png), file('image', 'b.png', b.png), file('mask', 'b-mask.png', b.mask)],
      400, /a\.png: the image has no mask after it/],
    ['last image without its mask', 'task=segmentation', [labels, file('image', 'a.png', a.png), file('mask', 'a-mask.png', a.mask), file('image', 'b.png', b.png)],
      400, /b\.png: the image has no mask after it/],
    ['mask before any image', 'task=segmentation', [labels, file('mask', 'lonely-mask.png', a.mask)],
      400, /lonely-mask\.png: a mask without an image before it/],
    ['label outside the labels', 'task=segmentation', [labels, file('image', 'a.png', a.png), file('mask', 'a-mask.png', a.mask), file('image', 'b.png', b.png), file('mask', 'seven.png', outOfRange)],
      400, /seven\.png: the mask holds label 7, outside the 4 labels/],
    ['depth map of the wrong size', 'task=depth', [file('image', 'a.png', a.png), file('depth', 'a-depth.png', a.depth), file('image', 'b.png', b.png), file('depth', 'small-depth.png', small.depth)],
      400, /small-depth\.png: the depth map is 48×64 but its image b\.png is 64×64/],
    ['a mask where depth belongs', 'task=depth', [file('image', 'a.png', a.png), file('mask', 'a-mask.png', a.mask)],
      400, /a-mask\.png: unexpected file field "mask"/],
    ['classification image without label', 'task=classification', [file('image', 'a.png', a.png), file('image', 'b.png', b.png), field('label', 'disc')],
      400, /a\.png: the image has no label after it/],
    ['a file that is no image', 'task=segmentation', [labels, file('image', 'notes.txt', Buffer.from('these are not pixels')), file('mask', 'a-mask.png', a.mask), file('image', 'b.png', b.png), file('mask', 'b-mask.png', b.mask)],
      415, /notes\.txt/],
    ['undecodable mask', 'task=segmentation', [labels, file('image', 'a.png', a.png), file('mask', 'broken-mask.png', a.mask.subarray(0, 40)), file('image', 'b.png', b.png), file('mask', 'b-mask.png', b.mask)],
      422, /broken-mask\.png/],
    ['no labels field', 'task=segmentation', [file('image', 'a.png', a.png), file('mask', 'a-mask.png', a.mask), file('image', 'b.png', b.png), file('mask', 'b-mask.png', b.mask)],
      400, /needs at least 2 classes/]
  ]
  for (const [what, query, parts, status, message] of cases) {
    const response = await postFit(app, 'shapes', query, parts)
    t.equal(response.statusCode, status, what)
    t.match(response.json().message, message, what)
  }
  const notMultipart = await app.inject({ method: 'POST', url: '/heads/shapes?task=depth', headers: { ...bearer(), ...imageHeaders('image/png') }, payload: a.png })
  t.equal(notMultipart.statusCode, 415)
  t.same(readdirSync(headsDir), [], 'no job ran, nothing written')
  t.equal((await app.inject({ method: 'GET', url: '/heads/shapes/job', headers: bearer() })).statusCode, 404, 'no job was made')
})

t.test('a fitted segmentation head: 202 with Location, job states, served at once, 409 while it exists, DELETE removes it', async (t) => {
  const { app, headsDir } = await fittingApp(t)
  const accepted = await postFit(app, 'shapes', 'task=segmentation&epochs=3&val_fraction=0.25', segmentationParts([1, 2, 3, 4, 5, 6, 7, 8]))
  t.equal(accepted.statusCode, 202)
  t.equal(accepted.headers.location, '/heads/shapes/job')
  const body = accepted.json()
  t.equal(body.name, 'shapes')
  t.equal(body.task, 'segmentation')
  t.ok(['queued', 'extracting'].includes(body.state), `accepted as ${body.state}`)

  const again = await postFit(app, 'shapes', 'task=segmentation', segmentationParts([1, 2]))
  t.equal(again.statusCode, 409, 'a running job holds its name')
  t.match(again.json().message, 'a fitting job for "shapes" is queued or running')

  const job = await waitForJob(app, 'shapes')
  t.equal(job.state, 'done', job.error ?? 'done')
  t.ok(job.seen.includes('done'))
  t.equal(job.progress, 1)
  t.ok(job.metrics.miou >= 0 && job.metrics.miou <= 1, `miou ${job.metrics.miou}`)
  t.ok(job.metrics.pixel_accuracy >= 0 && job.metrics.pixel_accuracy <= 1)

  const listed = (await app.inject('/models')).json().heads.find((h: { name: string }) => h.name === 'shapes')
  t.same(listed, { name: 'shapes', task: 'segmentation', inputs: ['patch_features'], labels: SCENE_LABELS, fitted: true, metrics: job.metrics })
  const headJson = JSON.parse(readFileSync(join(headsDir, 'shapes', 'head.json'), 'utf8'))
  t.equal(headJson.backbone.name, model.split('/').at(-1))
  t.same(headJson.metrics, job.metrics)

  const probe = scene(40, 64, 64)
  const segmented = await app.inject({ method: 'POST', url: '/segment?head=shapes&format=json', headers: imageHeaders(), payload: probe.png })
  t.equal(segmented.statusCode, 200, 'served at once through head=')
  t.same(segmented.json().labels, SCENE_LABELS)
  const analyzed = await app.inject({ method: 'POST', url: '/analyze?tasks=segment&segment_head=shapes', headers: imageHeaders(), payload: probe.png })
  t.equal(analyzed.statusCode, 200, '/analyze takes it as segment_head')
  t.equal(analyzed.json().images[0].segmentation.head, 'shapes')

  t.equal((await postFit(app, 'shapes', 'task=segmentation', segmentationParts([1, 2]))).statusCode, 409, 'a served head holds its name')

  const modelHead = await app.inject({ method: 'DELETE', url: '/heads/segmentation', headers: bearer() })
  t.equal(modelHead.statusCode, 403, 'the model folder\'s heads are not for deleting')
  t.equal(modelHead.json().error, 'forbidden')

  const deleted = await app.inject({ method: 'DELETE', url: '/heads/shapes', headers: bearer() })
  t.equal(deleted.statusCode, 200)
  t.same(deleted.json(), { name: 'shapes', cancelled_job: false, removed_head: true })
  t.notOk(existsSync(join(headsDir, 'shapes')), 'its folder is gone')
  const gone = await app.inject({ method: 'POST', url: '/segment?head=shapes', headers: imageHeaders(), payload: probe.png })
  t.equal(gone.statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/heads/shapes/job', headers: bearer() })).statusCode, 404, 'its job is forgotten')
  t.equal((await app.inject({ method: 'DELETE', url: '/heads/shapes', headers: bearer() })).statusCode, 404, 'nothing left to delete')
  t.notOk((await app.inject('/models')).json().heads.some((h: { name: string }) => h.name === 'shapes'))
})

t.test('one job runs at a time, FIT_QUEUE_SIZE wait, beyond that 429 with Retry-After; DELETE cancels queued and running jobs', async (t) => {
  const { app, headsDir } = await fittingApp(t, { FIT_QUEUE_SIZE: '1' })
  const parts = segmentationParts([1, 2, 3, 4])
  const first = await postFit(app, 'first', 'task=segmentation&epochs=1000', parts)
  t.equal(first.statusCode, 202)
  const second = await postFit(app, 'second', 'task=segmentation&epochs=2', parts)
  t.equal(second.statusCode, 202)
  t.equal(second.json().state, 'queued')
  t.equal(second.json().position, 1, 'one job ahead')
  const third = await postFit(app, 'third', 'task=segmentation&epochs=2', parts)
  t.equal(third.statusCode, 429)
  t.equal(third.json().error, 'overloaded')
  t.match(third.json().message, 'FIT_QUEUE_SIZE=1')
  t.ok(Number(third.headers['retry-after']) >= 5, `Retry-After ${third.headers['retry-after']}`)

  const queued = await app.inject({ method: 'DELETE', url: '/heads/second', headers: bearer() })
  t.same(queued.json(), { name: 'second', cancelled_job: true, removed_head: false })
  const running = await app.inject({ method: 'GET', url: '/heads/first/job', headers: bearer() })
  t.ok(['extracting', 'training'].includes(running.json().state), `the first job runs (${running.json().state})`)
  const cancelled = await app.inject({ method: 'DELETE', url: '/heads/first', headers: bearer() })
  t.equal(cancelled.statusCode, 200)
  t.same(cancelled.json(), { name: 'first', cancelled_job: true, removed_head: false })
  t.same(readdirSync(headsDir).filter((f) => !f.startsWith('.')), [], 'a cancelled job leaves no head')
  t.notOk((await app.inject('/models')).json().heads.some((h: { name: string }) => h.name === 'first'))
  const free = await postFit(app, 'third', 'task=segmentation&epochs=1', parts)
  t.equal(free.statusCode, 202, 'room again')
  t.equal((await waitForJob(app, 'third')).state, 'done')
})

t.test('a fitted head survives a restart: loaded from HEADS_DIR, same answers', async (t) => {
  const headsDir = scratchDir(t)
  const env = { ADMIN_TOKEN: TOKEN, HEADS_DIR: headsDir }
  const probe = scene(50, 64, 64).png
  const first = await startApp(t, model, env)
  t.equal((await postFit(first, 'kept', 'task=segmentation&epochs=2', segmentationParts([1, 2, 3, 4]))).statusCode, 202)
  t.equal((await waitForJob(first, 'kept')).state, 'done')
  const before = await first.inject({ method: 'POST', url: '/segment?head=kept', headers: imageHeaders(), payload: probe })
  await first.close()

  const second = await startApp(t, model, env)
  const listed = (await second.inject('/models')).json().heads.find((h: { name: string }) => h.name === 'kept')
  t.equal(listed?.fitted, true, 'listed after the restart')
  const after = await second.inject({ method: 'POST', url: '/segment?head=kept', headers: imageHeaders(), payload: probe })
  t.equal(after.statusCode, 200)
  t.ok(after.rawPayload.equals(before.rawPayload), 'the same label map')
  t.equal((await postFit(second, 'kept', 'task=segmentation', segmentationParts([1, 2]))).statusCode, 409)
})

t.test('a head fitted on another backbone is refused at load, naming both backbones', async (t) => {
  const headsDir = scratchDir(t)
  const env = { ADMIN_TOKEN: TOKEN, HEADS_DIR: headsDir, LOG_LEVEL: 'silent' }
  const first = await startApp(t, model, env)
  t.equal((await postFit(first, 'foreign', 'task=segmentation&epochs=1', segmentationParts([1, 2, 3]))).statusCode, 202)
  t.equal((await waitForJob(first, 'foreign')).state, 'done')
  await first.close()
  // Kept aside for the model-folder case below, before DELETE clears it from HEADS_DIR.
  const { cpSync } = await import('node:fs')
  const fitted = join(scratchDir(t), 'foreign')
  cpSync(join(headsDir, 'foreign'), fitted, { recursive: true })

  // Another backbone of the same shape (other weights, so another folder name): the head's features would mean nothing.
  const other = syntheticModel({ preset: 'tiny', seed: 12, heads: true })
  const second = await startApp(t, other, env)
  t.notOk((await second.inject('/models')).json().heads.some((h: { name: string }) => h.name === 'foreign'), 'HEADS_DIR: skipped, not served')
  const taken = await postFit(second, 'foreign', 'task=segmentation', segmentationParts([1, 2]))
  t.equal(taken.statusCode, 409, 'its folder still holds the name')
  t.match(taken.json().message, 'HEADS_DIR already holds a folder "foreign"')
  const deleted = await second.inject({ method: 'DELETE', url: '/heads/foreign', headers: bearer() })
  t.same(deleted.json(), { name: 'foreign', cancelled_job: false, removed_head: true }, 'and DELETE clears it')

  // In a model folder the same head stops the start, naming both backbones.
  const modelCopy = scratchDir(t)
  cpSync(other, modelCopy, { recursive: true })
  mkdirSync(join(modelCopy, 'heads'), { recursive: true })
  cpSync(fitted, join(modelCopy, 'heads', 'foreign'), { recursive: true })
  const { buildApp } = await import('../../src/app.js')
  const { loadConfig } = await import('../../src/config.js')
  const app = await buildApp(loadConfig({ MODEL: modelCopy, LOG_LEVEL: 'silent' }), { logger: false })
  t.teardown(async () => app.close())
  await app.ready()
  const refusal = await app.modelHost.loaded.then(() => 'loaded', (error: Error) => error.message)
  t.match(refusal, /head "foreign" .*: it was fitted on backbone "[^"]+" \(dinov3_vit, dim 32, patch 16, 4 registers, fp32\) but the served backbone is "[^"]+" .*\(name differ\)/)
  t.match(refusal, model.split('/').at(-1) as string)
  t.match(refusal, modelCopy.split('/').at(-1) as string)
})

t.test('closing the service cancels a running job: close returns and no head is left behind', async (t) => {
  const headsDir = scratchDir(t)
  const app = await startApp(t, model, { ADMIN_TOKEN: TOKEN, HEADS_DIR: headsDir })
  t.equal((await postFit(app, 'interrupted', 'task=segmentation&epochs=1000', segmentationParts([1, 2, 3, 4]))).statusCode, 202)
  t.equal((await postFit(app, 'waiting', 'task=segmentation&epochs=1', segmentationParts([1, 2, 3]))).statusCode, 202)
  await app.close()
  t.same(readdirSync(headsDir), [], 'neither the running nor the queued job wrote a head (nor left scratch files)')
})
