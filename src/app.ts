import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { clientErrorAnswerer, requestIds } from './plugins/client-errors.js'
import errorHandler from './plugins/error-handler.js'
import fitting from './plugins/fitting.js'
import imageInput from './plugins/image-input.js'
import inference from './plugins/inference.js'
import loopHealth from './plugins/loop-health.js'
import metrics from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import requestControl from './plugins/request-control.js'
import analyzeRoute from './routes/analyze.js'
import classifyRoute from './routes/classify.js'
import demoRoute from './routes/demo.js'
import depthRoute from './routes/depth.js'
import embedRoute from './routes/embed.js'
import featuresRoute from './routes/features.js'
import headsRoute from './routes/heads.js'
import healthRoute from './routes/health.js'
import metricsRoute from './routes/metrics.js'
import modelsRoute from './routes/models.js'
import segmentRoute from './routes/segment.js'

export interface AppOptions {
  logger?: FastifyServerOptions['logger']
}

/** The whole service as a Fastify instance: plugins, then routes. Tests build it and call `inject`; no port needed. */
export async function buildApp (config: Readonly<Config>, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.uploadTimeoutMs,
    clientErrorHandler: clientErrorAnswerer(config.uploadTimeoutMs),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addHook('onRequest', async (request) => {
    requestIds.set(request.raw, request.id)
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  await app.register(metrics)
  await app.register(errorHandler)
  await app.register(loopHealth, { config })
  await app.register(openapi)
  await app.register(inference, { config })
  await app.register(requestControl, { config })
  await app.register(imageInput, { config })
  await app.register(fitting, { config })

  await app.register(embedRoute)
  await app.register(featuresRoute)
  await app.register(segmentRoute)
  await app.register(depthRoute)
  await app.register(analyzeRoute)
  await app.register(classifyRoute)
  await app.register(headsRoute, { config })
  await app.register(modelsRoute)
  await app.register(healthRoute)
  await app.register(metricsRoute)
  await app.register(demoRoute)
  return app
}
