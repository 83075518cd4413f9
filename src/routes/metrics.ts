import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from './error-responses.js'
import { everyAnswerHeaders } from './response-headers.js'

/** A few lines of a real exposition; Fastify sends the text as it is (a string is never serialised). */
const metricsExample = [
  '# HELP dinov3_ready 1 once the model is loaded and warmed up, 0 before and while shutting down',
  '# TYPE dinov3_ready gauge',
  'dinov3_ready 1',
  '# HELP dinov3_batch_size Images per backbone run',
  '# TYPE dinov3_batch_size histogram',
  'dinov3_batch_size_bucket{le="1"} 12',
  ''
].join('\n')

const metricsAnswer = Type.Unsafe({
  description: 'Prometheus text exposition format 0.0.4',
  headers: everyAnswerHeaders,
  content: { 'text/plain': { schema: Type.String(), example: metricsExample } }
})

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus exposition',
      description: 'Request counts and durations by route and status, stage durations, batch sizes, queue depth, ' +
        'failures by code, model info and readiness, and the default process metrics.',
      tags: ['service'],
      response: { 200: metricsAnswer, ...errorResponses([500]) }
    }
  }, async (_request, reply) => {
    const text = await app.metrics.registry.metrics()
    return reply.type(app.metrics.registry.contentType).send(text)
  })
}

export default route
