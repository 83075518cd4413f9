import { randomUUID } from 'node:crypto'
import { maxHeaderSize, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { ServiceError } from '../errors.js'

interface ConnectionError extends Error {
  code?: string
}

/**
 * Connections this handler answered and closed. A request that was still reading its body on one of them then fails
 * too ("aborted"); the error handler does not count that failure a second time.
 */
export const refusedConnections = new WeakSet<Socket>()

/**
 * Answers what Node refuses before Fastify sees a request: a body that has not arrived within UPLOAD_TIMEOUT_MS,
 * headers over Node's size limit, bytes that are not HTTP. Without it the client would get Fastify's default body,
 * not the service's `{error, message}`. It is a server option (`clientErrorHandler`), called with the Fastify
 * instance as `this`: no request exists, so the answer gets an id of its own, logged beside the code.
 */
export function clientErrorAnswerer (uploadTimeoutMs: number) {
  return function answerClientError (this: FastifyInstance, error: ConnectionError, socket: Socket): void {
    // A reset, an end in the middle of a request (the client left) or a closed socket: no one is left to answer. If a
    // request was reading its body, its own failure is counted (client_closed) by the error handler.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || socket.destroyed) {
      socket.destroy()
      return
    }
    const failure = describe(error, uploadTimeoutMs)
    const id = randomUUID()
    this.metrics.failures.inc({ code: failure.code })
    this.log.info({ reqId: id, code: failure.code, reason: error.code ?? error.message }, 'connection refused')
    // As Node does: answer only if no response has started on this connection, or the bytes would corrupt it.
    const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (socket.writable && (response === undefined || response === null || !response.headersSent)) {
      const body = JSON.stringify({ error: failure.code, message: failure.message })
      socket.write(`HTTP/1.1 ${failure.status} ${statusText[failure.status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nconnection: close\r\n\r\n${body}`)
    }
    refusedConnections.add(socket)
    socket.destroy(error)
  }
}

const statusText: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

function describe (error: ConnectionError, uploadTimeoutMs: number): ServiceError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ServiceError('request_timeout',
      `the request did not arrive in full within ${uploadTimeoutMs} ms (UPLOAD_TIMEOUT_MS); send the body without pauses`)
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new ServiceError('headers_too_large', `the request's headers are over the limit of ${maxHeaderSize} bytes`)
  }
  return new ServiceError('bad_request', `the request is not valid HTTP/1.1 (${error.code ?? error.message})`)
}
