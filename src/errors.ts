/** The closed set of failures a client can see, each with its one status code (the only place they are mapped). */
export const errorStatus = {
  bad_request: 400,
  /** The admin routes without `Authorization: Bearer <ADMIN_TOKEN>`, or with a wrong token. */
  unauthorized: 401,
  /** A head that came with the model folder: only fitted heads in HEADS_DIR can be deleted. */
  forbidden: 403,
  not_found: 404,
  /** The fitting routes while ADMIN_TOKEN is unset: they do not exist for clients. */
  fitting_disabled: 404,
  request_timeout: 408,
  /** A head name already served, or held by a queued or running fitting job. */
  name_in_use: 409,
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
