import type { FastifyRequest } from 'fastify'

/**
 * `pool=cls+mean` typed into a URL arrives as "cls mean" (a bare + is a space in a query string); it can only mean
 * cls+mean, so it is read as that before validation instead of being refused.
 */
export async function readSpacedPool (request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  if (query.pool === 'cls mean') query.pool = 'cls+mean'
}
