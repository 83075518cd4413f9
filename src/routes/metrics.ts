import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/metrics', {
    schema: { summary: 'Prometheus exposition', tags: ['service'], produces: ['text/plain'] }
  }, async (_request, reply) => {
    const text = await app.metrics.registry.metrics()
    return reply.type(app.metrics.registry.contentType).send(text)
  })
}

export default route
