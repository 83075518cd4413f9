import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { ServiceError, type ErrorCode } from '../errors.js'
import { refusedConnections } from './client-errors.js'

/** Fastify's and @fastify/multipart's own errors, mapped onto the service's closed set. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_PROTO_VIOLATION: 'bad_request',
  // The connection closed while the body was being read ("aborted"): the client left, or UPLOAD_TIMEOUT_MS cut it off.
  ECONNRESET: 'client_closed',
  FST_MP_PREMATURE_CLOSE: 'client_closed'
}

const frameworkMessages: Partial<Record<ErrorCode, string>> = {
  client_closed: 'the connection closed before the whole body arrived',
  unsupported_media_type: 'send the image as the raw body with an image/* or application/octet-stream content type, or as multipart/form-data files'
}

/** The one error handler: JSON bodies `{error, message}`, Retry-After where it helps, 5xx details only in the log. */
export default fp(async (app) => {
  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    const failure = toServiceError(error)
    // A connection refused for a timeout was counted when it was answered (client-errors.ts).
    if (!refusedConnections.has(request.raw.socket)) app.metrics.failures.inc({ code: failure.code })
    if (failure.code === 'internal') {
      request.log.error({ err: error }, 'request failed')
    } else {
      request.log.info({ code: failure.code, reason: failure.message }, 'request refused')
    }
    if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds))
    return reply.status(failure.status).send({ error: failure.code, message: failure.message })
  })

  app.setNotFoundHandler((request, reply) => {
    app.metrics.failures.inc({ code: 'not_found' })
    return reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}; the API is described at /docs` })
  })
}, { name: 'error-handler', dependencies: ['metrics'] })

export function toServiceError (error: FastifyError | ServiceError | Error): ServiceError {
  if (error instanceof ServiceError) return error
  const fastifyError = error as FastifyError
  if (fastifyError.validation !== undefined) return new ServiceError('bad_request', describeValidation(fastifyError))
  const mapped = fastifyError.code === undefined ? undefined : frameworkCodes[fastifyError.code]
  if (mapped !== undefined) return new ServiceError(mapped, `${fastifyError.message}${frameworkMessages[mapped] === undefined ? '' : `: ${frameworkMessages[mapped]}`}`)
  const status = fastifyError.statusCode
  if (status !== undefined && status >= 400 && status < 500) return new ServiceError('bad_request', fastifyError.message)
  return new ServiceError('internal', 'internal error; it has been logged with this request\'s id')
}

/** "pool must be one of: cls, mean, cls+mean" reads better than AJV's "must be equal to one of the allowed values". */
function describeValidation (error: FastifyError): string {
  const context = error.validationContext ?? 'request'
  return (error.validation ?? []).map((issue) => {
    const field = issue.instancePath.replace(/^\//, '').replace(/\//g, '.') ||
      (issue.params as { missingProperty?: string, additionalProperty?: string }).missingProperty ||
      (issue.params as { additionalProperty?: string }).additionalProperty || context
    const params = issue.params as { allowedValues?: unknown[], additionalProperty?: string }
    if (params.allowedValues !== undefined) return `${field} must be one of: ${params.allowedValues.join(', ')}`
    if (params.additionalProperty !== undefined) return `unknown ${context} parameter "${params.additionalProperty}"`
    return `${field} ${issue.message ?? 'is invalid'}`
  }).join('; ')
}
