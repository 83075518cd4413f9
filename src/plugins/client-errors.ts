import { randomUUID } from 'node:crypto'
import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http'
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
 * Connections whose request was answered (refused) before its body had come: Node goes on reading that body to drop
 * it. A client that never sends it has its answer already, so the upload timeout closes the connection quietly.
 */
export const answeredBeforeBody = new WeakSet<Socket>()

/** The id of each request Fastify has started, so that a refusal while its body arrives answers under that id. */
export const requestIds = new WeakMap<IncomingMessage, string>()

/**
 * Answers what Node refuses at the connection: headers or a body that have not arrived within UPLOAD_TIMEOUT_MS,
 * headers over Node's size limit, bytes that are not HTTP. Without it the client would get Fastify's default body,
 * not the service's `{error, message}`. It is a server option (`clientErrorHandler`), called with the Fastify
 * instance as `this`. The answer carries the id of the request being read, or a new one when none was started, and
 * the log line has the same id.
 */
export function clientErrorAnswerer (uploadTimeoutMs: number) {
  return function answerClientError (this: FastifyInstance, error: ConnectionError, socket: Socket): void {
    // A reset, an end in the middle of a request (the client left) or a closed socket: no one is left to answer. If a
    // request was reading its body, its own failure is counted (client_closed) by the error handler.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || socket.destroyed) {
      socket.destroy()
      return
    }
    const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && response === undefined && answeredBeforeBody.has(socket)) {
      socket.destroy()
      return
    }
    const failure = describe(error, uploadTimeoutMs)
    const id = (response === undefined ? undefined : requestIds.get(response.req)) ?? randomUUID()
    this.metrics.failures.inc({ code: failure.code })
    this.log.info({ reqId: id, code: failure.code, reason: error.code ?? error.message }, 'connection refused')
    // As Node does: answer only if no response has started on this connection, or the bytes would corrupt it.
    if (socket.writable && (response === undefined || !response.headersSent)) {
      const body = JSON.stringify({ error: failure.code, message: failure.message })
      socket.write(`HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nconnection: close\r\n\r\n${body}`)
    }
    refusedConnections.add(socket)
    socket.destroy(error)
  }
}

function describe (error: ConnectionError, uploadTimeoutMs: number): ServiceError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ServiceError('request_timeout',
        `the request did not arrive in full within ${uploadTimeoutMs} ms (UPLOAD_TIMEOUT_MS); send the body without pauses`)
    case 'HPE_HEADER_OVERFLOW':
      return new ServiceError('headers_too_large', `the request's headers are over the limit of ${maxHeaderSize} bytes`)
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ServiceError('payload_too_large', 'the chunk extensions of the body are over Node\'s limit')
    default:
      return new ServiceError('bad_request', `the request is not valid HTTP/1.1 (${error.code ?? error.message})`)
  }
}
