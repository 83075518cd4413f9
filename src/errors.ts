/** The closed set of failures a client can see, each with its one status code (the only place they are mapped). */
export const errorStatus = {
  bad_request: 400,
  not_found: 404,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable_image: 422,
  overloaded: 429,
  headers_too_large: 431,
  not_ready: 503,
  shutting_down: 503,
  deadline_exceeded: 504,
  client_closed: 499,
  internal: 500
} as const

export type ErrorCode = keyof typeof errorStatus

export class ServiceError extends Error {
  readonly status: number

  constructor (
    readonly code: ErrorCode,
    message: string,
    /** Seconds a client should wait before retrying, sent as Retry-After. */
    readonly retryAfterSeconds?: number
  ) {
    super(message)
    this.name = 'ServiceError'
    this.status = errorStatus[code]
  }
}

export const badRequest = (message: string): ServiceError => new ServiceError('bad_request', message)
