import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from './error-responses.js'
import { everyAnswerHeaders } from './response-headers.js'
import { answer } from './schemas.js'

const Health = Type.Object({ status: Type.String({ description: 'live or ready' }) })

const healthAnswer = (status: string) =>
  answer({ description: `The service is ${status}`, headers: everyAnswerHeaders, json: { schema: Health, example: { status } } })

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    schema: {
      summary: 'The process is up (even while the model loads)',
      description: 'For a liveness probe: answers as soon as the process listens, and never waits for inference or post-processing (they run on threads of their own).',
      tags: ['service'],
      response: { 200: healthAnswer('live') }
    }
  }, async () => ({ status: 'live' }))

  app.get('/health/ready', {
    schema: {
      summary: 'The model is loaded and warmed up, and the event loop keeps up; 503 with Retry-After otherwise and while shutting down',
      description: 'For a readiness probe: route traffic here only while it answers 200.',
      tags: ['service'],
      response: { 200: healthAnswer('ready'), ...errorResponses([503]) }
    }
  }, async () => {
    app.modelHost.require()
    app.loopHealth.check()
    return { status: 'ready' }
  })
}

export default route
