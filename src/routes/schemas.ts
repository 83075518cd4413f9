import { Type, type TSchema } from 'typebox'
import { errorStatus, type ErrorCode } from '../errors.js'

export const ErrorBody = Type.Object({
  error: Type.Enum(Object.keys(errorStatus) as ErrorCode[], { description: 'A stable code to branch on' }),
  message: Type.String({ description: 'What was wrong and what to do about it' })
}, { $id: 'ErrorBody', description: 'Every failure has this body' })

const errorDescriptions: Record<number, string> = {
  400: 'A parameter is invalid (the message names it and its valid range), or the body holds no image',
  404: 'Unknown route, or unknown head (the message lists the heads)',
  413: 'The body, a file or the pixel count is over its limit',
  415: 'Not an image format this service decodes (JPEG, PNG, WebP, TIFF, GIF, AVIF)',
  422: 'The image cannot be decoded (truncated or corrupt)',
  429: 'Overloaded: too many requests in flight; retry after Retry-After seconds',
  503: 'Not ready (loading) or shutting down; retry after Retry-After seconds',
  504: 'The request passed its deadline',
  500: 'Internal error; details are in the service log only'
}

/** The error answers every image endpoint can give, for the OpenAPI page. */
export function imageErrorResponses (): Record<number, TSchema> {
  return Object.fromEntries([400, 413, 415, 422, 429, 503, 504, 500].map((status) =>
    [status, Type.Ref('ErrorBody', { description: errorDescriptions[status] })]))
}

export const SizeParameter = Type.String({
  pattern: '^(native|[0-9]{1,6})$',
  description: '`native` (the default: native resolution, scaled down to the configured cap) or the long side in pixels',
  examples: ['native', '512']
})

/** The image body: raw bytes with an image content type, or multipart files (several files make a batch). */
export const imageConsumes = [
  'image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'application/octet-stream', 'multipart/form-data'
]

/**
 * A 200 answer in several formats: JSON (validated and serialised by its schema) and binary types, which
 * Fastify sends as they are. Written in OpenAPI's per-content-type form so /docs lists every format.
 */
export function formatsResponse (description: string, json: TSchema | undefined, binary: Record<string, string>): TSchema {
  const content: Record<string, { schema: TSchema }> = {}
  if (json !== undefined) content['application/json'] = { schema: json }
  for (const [type, what] of Object.entries(binary)) {
    content[type] = { schema: Type.Unsafe({ type: 'string', format: 'binary', description: what }) }
  }
  return Type.Unsafe({ description, content })
}
