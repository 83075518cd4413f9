import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'

/** An answer made of parts (GeoTIFF tiles, the JSON of each image's map), sent one after the other: never joined. */
export function sendParts (reply: FastifyReply, type: string, parts: Uint8Array[]): FastifyReply {
  const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0)
  return reply.type(type).header('content-length', bytes).send(Readable.from(parts))
}
