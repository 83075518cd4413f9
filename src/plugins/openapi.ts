import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { ErrorBody } from '../routes/schemas.js'

/** OpenAPI from the very schemas that validate requests, so that /docs cannot drift from the code. */
export default fp(async (app) => {
  app.addSchema(ErrorBody)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'DINOv3 inference service',
        description: 'Embeddings, dense features, segmentation, depth and tiled inference from one frozen DINOv3 backbone.',
        version: '0.1.0'
      },
      tags: [
        { name: 'backbone', description: 'Backbone outputs' },
        { name: 'heads', description: 'Task heads on the frozen backbone\'s features' },
        { name: 'service', description: 'Health, models and metrics' }
      ]
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'openapi' })
