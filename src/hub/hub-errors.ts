/**
 * Errors a user can act on. The CLI prints `message` alone for these (no stack),
 * so every message must say what went wrong and what to do about it.
 */
export type HubErrorKind =
  | 'bad-input'
  | 'offline'
  | 'unauthorized'
  | 'not-found'
  | 'unknown-variant'
  | 'invalid-response'
  | 'integrity'
  | 'download-failed'

export class HubError extends Error {
  override readonly name = 'HubError'

  constructor (
    readonly kind: HubErrorKind,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

export function isHubError (error: unknown): error is HubError {
  return error instanceof HubError
}
