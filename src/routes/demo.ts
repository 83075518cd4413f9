import type { FastifyPluginAsync } from 'fastify'
import { demoPage } from '../demo/page.js'

/** GET / : the demo page. Hidden from OpenAPI: it is a page for people, not part of the API. */
const route: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(demoPage))
}

export default route
