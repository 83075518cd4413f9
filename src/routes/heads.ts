import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'
import { checkDataset, checkHeadName, fitHead, type FitRequest } from '../fitting/index.js'
import type { Engine } from '../inference/engine.js'
import type { JobView } from '../inference/heads/fit-jobs.js'
import { adminGuard } from '../plugins/admin-auth.js'
import { errorResponses } from './error-responses.js'
import { readFitForm } from './fit-form.js'
import { everyAnswerHeaders } from './response-headers.js'
import { answer, StringEnum } from './schemas.js'

const NameParams = Type.Object({
  name: Type.String({ description: 'The head\'s name: 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit', examples: ['shapes'] })
})

const FitQuery = Type.Object({
  task: StringEnum(['segmentation', 'depth', 'classification'], { description: 'What the head does', examples: ['segmentation'] }),
  epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Training epochs (default: the task\'s recipe)', examples: [20] })),
  val_fraction: Type.Optional(Type.Number({ minimum: 0, default: 0.2, description: 'Share of the images held out for the metrics, at least 0 and below 1 (0: none)', examples: [0.2] })),
  kind: Type.Optional(StringEnum(['linear', 'knn'], {
    default: 'linear',
    description: 'classification only: logistic regression on CLS ⊕ mean patch token (linear), or a temperature-weighted vote of the 20 nearest training embeddings (knn)',
    examples: ['linear']
  }))
}, { additionalProperties: false })

const Job = Type.Object({
  name: Type.String({ description: 'The head being fitted' }),
  task: Type.String(),
  state: StringEnum(['queued', 'extracting', 'training', 'done', 'failed'], { description: 'done: the head is served (GET /models lists it)' }),
  progress: Type.Number({ description: 'Fraction of the whole job done, 0..1' }),
  epoch: Type.Optional(Type.Integer({ description: 'Training: the current epoch' })),
  epochs: Type.Optional(Type.Integer({ description: 'Training: the epochs in all' })),
  loss: Type.Optional(Type.Number({ description: 'Training: the last epoch\'s mean loss' })),
  metrics: Type.Record(Type.String(), Type.Number(), {
    description: 'On the held-out images, once done: segmentation miou, pixel_accuracy; depth abs_rel, rmse, delta1; classification top1'
  }),
  error: Type.Optional(Type.String({ description: 'Why the job failed' })),
  position: Type.Optional(Type.Integer({ description: 'Queued: jobs ahead of this one' })),
  created_at: Type.String({ description: 'ISO 8601' }),
  started_at: Type.Optional(Type.String()),
  finished_at: Type.Optional(Type.String())
})

const jobExample = {
  name: 'shapes',
  task: 'segmentation',
  state: 'done',
  progress: 1,
  epoch: 20,
  epochs: 20,
  loss: 0.0831,
  metrics: { miou: 0.912, pixel_accuracy: 0.968 },
  created_at: '2026-12-01T03:10:02.114Z',
  started_at: '2026-12-01T03:10:02.120Z',
  finished_at: '2026-12-01T03:10:09.871Z'
}

const queuedExample = { name: 'shapes', task: 'segmentation', state: 'queued', progress: 0, metrics: {}, position: 0, created_at: '2026-12-01T03:10:02.114Z' }

const Deleted = Type.Object({
  name: Type.String(),
  cancelled_job: Type.Boolean({ description: 'A queued or running job was cancelled' }),
  removed_head: Type.Boolean({ description: 'The head was unserved and its folder removed from HEADS_DIR' })
})

const adminHeaders = everyAnswerHeaders

const fitFormBody = {
  description: 'multipart/form-data, parts in this order: segmentation: files `image` then `mask` (1-channel label PNG at the image\'s size, ' +
    'pixel = class index, 255 = ignore) for each image, and a text field `labels` (comma-separated class names in index order); ' +
    'depth: files `image` then `depth` (16-bit PNG in millimetres, 0 = no value, or float32 .npy [H,W] in metres); ' +
    'classification: a file `image` then a text field `label` (its class name) for each image. BODY_LIMIT_MB bounds each file, ' +
    'FIT_UPLOAD_LIMIT_MB the whole upload, FIT_MAX_FILES the files.',
  required: true,
  content: {
    'multipart/form-data': {
      schema: Type.Object({
        image: Type.Array(Type.Unsafe({ type: 'string', format: 'binary' }), { description: 'The images, each followed by its mask, depth or label' }),
        mask: Type.Optional(Type.Array(Type.Unsafe({ type: 'string', format: 'binary' }), { description: 'segmentation: the label PNG of the image before it' })),
        depth: Type.Optional(Type.Array(Type.Unsafe({ type: 'string', format: 'binary' }), { description: 'depth: the depth map of the image before it' })),
        label: Type.Optional(Type.Array(Type.String(), { description: 'classification: the class of the image before it' })),
        labels: Type.Optional(Type.String({ description: 'segmentation: class names in index order, comma-separated', example: 'background,circle,square' }))
      })
    }
  }
}

/** The admin routes: fit a head from labelled images, follow its job, delete a fitted head. */
const route: FastifyPluginAsyncTypebox<{ config: Readonly<Config> }> = async (app, { config }) => {
  const guard = adminGuard(config.adminToken)
  const adminStatuses = [400, 404, 409, 413, 415, 422, 429, 503, 500]

  app.post('/heads/:name', {
    onRequest: guard,
    schema: {
      summary: 'Fit a head on the frozen backbone (admin)',
      description: 'Checks the dataset (each problem named by its file), then queues a fitting job and answers 202 at once with the job ' +
        'and `Location: /heads/{name}/job`. Features come from the served backbone; the head is trained, written to HEADS_DIR and ' +
        'served as soon as the job is done. One job runs at a time, FIT_QUEUE_SIZE wait; beyond that 429. ' +
        'Needs `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN this route answers 404 fitting_disabled.',
      tags: ['fitting'],
      security: [{ adminToken: [] }],
      params: NameParams,
      querystring: FitQuery,
      requestBody: fitFormBody,
      response: {
        202: answer({ description: 'Accepted: the job, queued or already started', headers: { ...adminHeaders, location: Type.String({ description: 'Where to follow the job', example: '/heads/shapes/job' }) }, json: { schema: Job, example: queuedExample } }),
        ...errorResponses(withAuth(adminStatuses))
      }
    }
  }, async (request, reply) => {
    const { name } = request.params
    const { task, epochs, val_fraction: valFraction, kind } = request.query
    checkHeadName(name)
    const engine = app.modelHost.require()
    refuseTakenName(engine, app.fitJobs.busy(name), name)
    // Refused before the upload is read: a full queue should not cost the client its whole upload first.
    app.fitJobs.refuseWhenFull()
    const form = await readFitForm(request, task, config)
    const fit: FitRequest = { task, name, kind, epochs, valFraction, labels: form.labels, train: form.train }
    await checkDataset(engine, fit)
    // The upload took time: the name may have been taken meanwhile (submit checks jobs again).
    refuseTakenName(engine, false, name)
    const job = app.fitJobs.submit(name, task, async (signal, onProgress) => {
      const log = request.log.child({ head: name })
      const fitted = await fitHead(engine, fit, engine.headsDir, onProgress, signal)
      try {
        if (signal.aborted) throw signal.reason
        const head = await engine.loadFittedHead(name, log)
        engine.heads.add(head)
      } catch (error) {
        // A head that is not served must not stay on disk, where it would hold its name and load at the next start.
        rmSync(fitted.dir, { recursive: true, force: true })
        throw error
      }
      return numbers(fitted.headJson.metrics)
    })
    return reply.status(202).header('location', `/heads/${name}/job`).send(job)
  })

  app.get('/heads/:name/job', {
    onRequest: guard,
    schema: {
      summary: 'The fitting job of a head (admin)',
      description: 'State, progress (epoch and loss while training) and, once done, the metrics on the held-out images. ' +
        'Jobs are kept in memory: after a restart only the head remains (GET /models shows its metrics).',
      tags: ['fitting'],
      security: [{ adminToken: [] }],
      params: NameParams,
      response: {
        200: answer({ description: 'The job', headers: adminHeaders, json: { schema: Job, example: jobExample } }),
        ...errorResponses(withAuth([400, 404, 500]))
      }
    }
  }, async (request): Promise<JobView> => {
    const { name } = request.params
    checkHeadName(name)
    const job = app.fitJobs.view(name)
    if (job === undefined) {
      throw new ServiceError('not_found', `no fitting job for "${name}" since the service started; GET /models lists the heads served, with the metrics of fitted ones`)
    }
    return job
  })

  app.delete('/heads/:name', {
    onRequest: guard,
    schema: {
      summary: 'Delete a fitted head, or cancel its job (admin)',
      description: 'Cancels a queued or running job of this name, stops serving the head (requests already using it finish) and removes its ' +
        'folder from HEADS_DIR. Heads that came with the model folder are refused (403): only fitted heads in HEADS_DIR can be deleted.',
      tags: ['fitting'],
      security: [{ adminToken: [] }],
      params: NameParams,
      response: {
        200: answer({ description: 'What was deleted', headers: adminHeaders, json: { schema: Deleted, example: { name: 'shapes', cancelled_job: false, removed_head: true } } }),
        ...errorResponses(withAuth([400, 403, 404, 503, 500]))
      }
    }
  }, async (request) => {
    const { name } = request.params
    checkHeadName(name)
    const engine = app.modelHost.require()
    const served = engine.heads.find(name)
    if (served !== undefined && !served.fitted) {
      throw new ServiceError('forbidden', `head "${name}" is not a fitted head in HEADS_DIR (${served.source.dir}); only heads fitted by this service can be deleted, remove others from the model folder yourself`)
    }
    const cancelledJob = app.fitJobs.cancel(name)
    if (cancelledJob) await app.fitJobs.settled(name)
    app.fitJobs.forget(name)
    const head = engine.heads.find(name)
    const folder = join(engine.headsDir, name)
    const onDisk = existsSync(join(folder, 'head.json'))
    if (head === undefined && !onDisk && !cancelledJob) {
      throw new ServiceError('not_found', `no fitted head or fitting job named "${name}"`)
    }
    if (head !== undefined) await engine.heads.remove(name)
    if (onDisk) rmSync(folder, { recursive: true, force: true })
    request.log.info({ head: name, cancelledJob, removedHead: head !== undefined || onDisk }, 'head deleted')
    return { name, cancelled_job: cancelledJob, removed_head: head !== undefined || onDisk }
  })
}

/** A name is taken by a served head, a queued or running job, or a head folder in HEADS_DIR (one not served: fitted on another backbone). */
function refuseTakenName (engine: Engine, jobBusy: boolean, name: string): void {
  if (jobBusy) throw new ServiceError('name_in_use', `a fitting job for "${name}" is queued or running; follow it at /heads/${name}/job or DELETE /heads/${name} to cancel it`)
  if (engine.heads.find(name) !== undefined) throw new ServiceError('name_in_use', `a head named "${name}" is already served; choose another name or DELETE /heads/${name} first`)
  if (existsSync(join(engine.headsDir, name))) {
    throw new ServiceError('name_in_use', `HEADS_DIR already holds a folder "${name}" that is not served (the log says why, e.g. another backbone); DELETE /heads/${name} or choose another name`)
  }
}

const withAuth = (statuses: number[]): number[] => [...statuses, 401].sort((a, b) => a - b)

const numbers = (metrics: object): Record<string, number> =>
  Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number'))

export default route
