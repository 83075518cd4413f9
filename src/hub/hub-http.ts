import { HubError } from './hub-errors.js'

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 10
const USER_AGENT = 'dinov3-serve-model-pull/0.1'

export interface HubRequest {
  url: string;
  /** Origin of HF_ENDPOINT: the only origin that is trusted with the token. */
  hubOrigin: string;
  token?: string | undefined;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface HubResponse {
  response: Response;
  /** Where the body actually came from after redirects (for messages). */
  finalUrl: URL;
}

/**
 * GET/HEAD that follows redirects by hand. fetch's automatic redirects would keep the
 * Authorization header on the way to the CDN the hub redirects to; huggingface_hub drops
 * it when the host changes, and so do we, so the token never leaves the hub's own host.
 */
export async function fetchFollowingRedirects (request: HubRequest): Promise<HubResponse> {
  let url = new URL(request.url)
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      // Byte offsets for Range and the expected sizes only make sense for the raw bytes.
      'accept-encoding': 'identity',
      ...request.headers,
    }
    if (request.token && url.origin === request.hubOrigin) {
      headers.authorization = `Bearer ${request.token}`
    }
    const response = await fetch(url, {
      method: request.method ?? 'GET',
      headers,
      redirect: 'manual',
      signal: request.signal,
    })
    const location = response.headers.get('location')
    if (!REDIRECT_STATUSES.has(response.status) || !location) {
      return { response, finalUrl: url }
    }
    // Release the connection before moving on; the redirect body is never interesting.
    await response.body?.cancel().catch(() => {})
    if (hop >= MAX_REDIRECTS) {
      throw new HubError('invalid-response', `too many redirects (more than ${MAX_REDIRECTS}) starting at ${request.url}`)
    }
    // The hub sends relative Locations for renamed repos, absolute ones for its CDN.
    url = new URL(location, url)
  }
}

/**
 * fetch reports every network failure as "fetch failed"; the useful part
 * (ECONNREFUSED, ENOTFOUND, a timeout) sits in the cause chain.
 */
export function describeNetworkError (error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error) {
      if (current.name === 'TimeoutError') return 'timed out'
      if (current.name === 'AbortError') return 'aborted'
      const code = (current as { code?: unknown }).code
      const text = current.message && current.message !== 'fetch failed' ? current.message : ''
      if (text && !parts.includes(text)) parts.push(text)
      else if (typeof code === 'string' && !parts.some((p) => p.includes(code))) parts.push(code)
      current = current.cause
    } else {
      parts.push(String(current))
      break
    }
  }
  // The innermost cause is the most specific one (e.g. "connect ECONNREFUSED 127.0.0.1:9").
  return parts.at(-1) ?? 'unknown network error'
}
