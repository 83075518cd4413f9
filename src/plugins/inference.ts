import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { findModelFolder } from '../inference/find-model.js'
import { ModelHost } from '../inference/model-host.js'
import { syntheticFallbackModel } from '../synthetic/synthetic-cache.js'
import { engineOptionsFromConfig } from '../inference/engine-options.js'

declare module 'fastify' {
  interface FastifyInstance {
    modelHost: ModelHost
    /** Refuses new work from now on (503 shutting_down, not ready); what is admitted runs to its end. */
    stopAdmitting: () => void
  }
}

/** Loads the model folder named by the config (or a synthetic one, loudly) and releases its sessions on close. */
export default fp<{ config: Readonly<Config> }>(async (app, { config }) => {
  let dir = findModelFolder(config.model, config.modelsDir)
  const fallback = dir === undefined
  if (dir === undefined) {
    dir = syntheticFallbackModel()
    app.log.warn({ modelsDir: config.modelsDir, dir },
      'NO MODEL FOUND: serving a SYNTHETIC model with RANDOM weights. Its answers mean nothing. ' +
      'Pull a real one with `npm run model:pull` or set MODEL to a model folder.')
  }
  const host = new ModelHost(dir, config.variant, {
    ...engineOptionsFromConfig(config),
    observer: app.metrics.batcherObserver,
    warmup: config.warmup,
    headsDir: config.headsDir
  }, app.log)
  app.decorate('modelHost', host)
  // A folder written by `npm run model:synthetic` looks like a real one: its config.json's `synthetic` marker is the
  // only difference, so it gets the same warning as the fallback.
  if (!fallback && host.folder.config.synthetic) {
    app.log.warn({ modelsDir: config.modelsDir, dir },
      'SYNTHETIC MODEL: this folder was written by `npm run model:synthetic` and has RANDOM weights. Its answers mean nothing. ' +
      'Pull a real one with `npm run model:pull` or set MODEL to a model folder.')
  }
  host.loaded.then((engine) => {
    app.metrics.setModel({
      name: host.folder.name,
      type: host.folder.config.modelType,
      variant: host.folder.variant,
      provider: engine.backbone.provider,
      synthetic: host.folder.config.synthetic
    })
    app.metrics.ready.set(1)
  }, () => {})
  app.decorate('stopAdmitting', () => {
    app.metrics.ready.set(0)
    host.state = 'closing'
  })
  app.addHook('preClose', async () => app.stopAdmitting())
  app.addHook('onClose', async () => {
    await host.close()
  })
}, { name: 'inference', dependencies: ['metrics'] })
