import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ServiceError } from '../errors.js'

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/**
 * The guard of the admin routes, as an onRequest hook (before any body is read): without ADMIN_TOKEN they do not
 * exist (404 fitting_disabled); with it, `Authorization: Bearer <token>` is required (401 otherwise). Tokens are
 * compared as SHA-256 digests with timingSafeEqual: equal lengths always, so neither the token's length nor its
 * content leaks through the time a refusal takes.
 */
export function adminGuard (token: string | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = token === undefined ? undefined : digest(token)
  return async (request, reply) => {
    if (expected === undefined) {
      throw new ServiceError('fitting_disabled', 'fitting heads is disabled on this service: the operator sets ADMIN_TOKEN to enable the /heads routes')
    }
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (match === null || !timingSafeEqual(digest(match[1]), expected)) {
      reply.header('www-authenticate', 'Bearer realm="dinov3-serve admin"')
      throw new ServiceError('unauthorized', header === undefined
        ? 'this route needs the admin token: send Authorization: Bearer <ADMIN_TOKEN>'
        : 'the Authorization header does not carry the admin token (Authorization: Bearer <ADMIN_TOKEN>)')
    }
  }
}
