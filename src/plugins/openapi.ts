import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import type { DocumentedRequestBody } from '../routes/image-body.js'
import { ErrorBody } from '../routes/schemas.js'

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The request body as OpenAPI shows it, and nothing more: Fastify ignores this key (it validates `body`
     * only), so image bytes are left to the content-type parsers instead of being checked against a schema.
     */
    requestBody?: DocumentedRequestBody
  }
}

/** OpenAPI from the very schemas that validate requests, so that /docs cannot drift from the code. */
export default fp(async (app) => {
  app.addSchema(ErrorBody)

  // @fastify/swagger derives `requestBody` from `body` alone, and drops a media type's `encoding` on the way;
  // the documented bodies are collected here and put into their operations once the document is built.
  const documentedBodies: Array<{ path: string, method: string, body: DocumentedRequestBody }> = []
  app.addHook('onRoute', (route) => {
    const body = route.schema?.requestBody
    if (body === undefined) return
    for (const method of [route.method].flat()) documentedBodies.push({ path: openapiPath(route.url), method: method.toLowerCase(), body })
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'DINOv3 inference service',
        description: 'Embeddings, dense features, segmentation, depth and tiled inference from one frozen DINOv3 backbone. ' +
          'Every inference endpoint takes an image as the raw body or as multipart/form-data files; every failure is ' +
          'JSON `{"error": "<code>", "message": "…"}`. A human reference with curl and Python examples is docs/api.md.',
        version: '0.1.0'
      },
      tags: [
        { name: 'backbone', description: 'Backbone outputs' },
        { name: 'heads', description: 'Task heads on the frozen backbone\'s features' },
        { name: 'service', description: 'Health, models and metrics' },
        { name: 'fitting', description: 'Fitting heads on the frozen backbone (admin: enabled by ADMIN_TOKEN)' }
      ],
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN the service was started with' }
        }
      }
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transformObject: (document) => {
      // This service writes OpenAPI 3 only; the Swagger 2 branch of the union never occurs.
      if (!('openapiObject' in document)) return document.swaggerObject
      const { openapiObject } = document
      for (const { path, method, body } of documentedBodies) {
        const operation = (openapiObject.paths?.[path] as Record<string, { requestBody?: unknown }> | undefined)?.[method]
        // A copy: the document is handed to clients and must not share objects with the routes' schemas.
        if (operation !== undefined) operation.requestBody = structuredClone(body)
      }
      return openapiObject
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'openapi' })

/** Fastify's `/items/:id` is OpenAPI's `/items/{id}`. */
function openapiPath (url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}
