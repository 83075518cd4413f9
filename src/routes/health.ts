import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Health = Type.Object({ status: Type.String() })

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    schema: { summary: 'The process is up (even while the model loads)', tags: ['service'], response: { 200: Health } }
  }, async () => ({ status: 'live' }))

  app.get('/health/ready', {
    schema: {
      summary: 'The model is loaded and warmed up; 503 with Retry-After before that and while shutting down',
      tags: ['service'],
      response: { 200: Health, 503: Type.Ref('ErrorBody') }
    }
  }, async () => {
    app.modelHost.require()
    return { status: 'ready' }
  })
}

export default route
