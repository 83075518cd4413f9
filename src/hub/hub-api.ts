import { HubError } from './hub-errors.js'
import { describeNetworkError, fetchFollowingRedirects } from './hub-http.js'
import { repoRevisionApiUrl } from './hub-urls.js'

/** How a downloaded file is checked against the hub's listing. */
export type ExpectedChecksum =
  /** LFS files: sha256 of the content. */
  | { algorithm: 'sha256'; hex: string }
  /** Plain git files: sha1("blob " + size + "\0" + content), i.e. the git blob id. */
  | { algorithm: 'git-blob-sha1'; hex: string }

export interface RepoFile {
  path: string;
  /** Missing only if the endpoint ignored `?blobs=true`; such files cannot be verified. */
  size: number | undefined;
  checksum: ExpectedChecksum | undefined;
}

export interface RepoListing {
  repoId: string;
  revision: string;
  /** The commit `revision` pointed to, so every file is fetched from the same commit. */
  commitSha: string | undefined;
  files: RepoFile[];
}

export interface ListRepoOptions {
  endpoint: string;
  repoId: string;
  revision: string;
  token?: string | undefined;
  timeoutMs?: number;
}

export async function listRepoFiles (options: ListRepoOptions): Promise<RepoListing> {
  const { endpoint, repoId, revision, token } = options
  const url = repoRevisionApiUrl(endpoint, repoId, revision)
  let response: Response
  try {
    ({ response } = await fetchFollowingRedirects({
      url,
      hubOrigin: new URL(endpoint).origin,
      token,
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    }))
  } catch (error) {
    if (error instanceof HubError) throw error
    throw unreachableError(endpoint, error)
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw listingHttpError(response, options)
  }
  let body: unknown
  try {
    body = await response.json()
  } catch (error) {
    throw new HubError('invalid-response', `${url} did not return JSON; is HF_ENDPOINT a Hugging Face hub?`, {
      cause: error,
    })
  }
  return parseListing(body, options, url)
}

export function unreachableError (endpoint: string, error: unknown): HubError {
  return new HubError(
    'offline',
    `cannot reach ${endpoint}: ${describeNetworkError(error)}; check your network or set HF_ENDPOINT to a mirror`,
    { cause: error }
  )
}

/**
 * The hub names the failure in X-Error-Code. Notably it answers 401 + RepoNotFound for a
 * repo that does not exist (or is private) when no token is sent, so status alone misleads.
 */
function listingHttpError (response: Response, options: ListRepoOptions): HubError {
  const { endpoint, repoId, revision, token } = options
  const errorCode = response.headers.get('x-error-code')
  const privateHint = token ? '' : '; if it is private, set HF_TOKEN to a token with access'
  if (errorCode === 'RevisionNotFound') {
    return new HubError('not-found', `no revision "${revision}" of ${repoId} on ${endpoint}`)
  }
  if (errorCode === 'RepoNotFound' || (response.status === 404 && errorCode !== 'GatedRepo')) {
    return new HubError('not-found', `no model ${repoId} on ${endpoint} (check the id${privateHint})`)
  }
  if (response.status === 401 || response.status === 403 || errorCode === 'GatedRepo') {
    return unauthorizedError(repoId, endpoint, response.status, token)
  }
  return new HubError(
    'invalid-response',
    `listing ${repoId} on ${endpoint} failed: HTTP ${response.status} ${response.statusText}`.trim()
  )
}

export function unauthorizedError (repoId: string, endpoint: string, status: number, token: string | undefined): HubError {
  const tokenNote = token
    ? ` (the HF_TOKEN that was sent got HTTP ${status}; accept the model's terms on its page or use another token)`
    : ''
  return new HubError(
    'unauthorized',
    `model ${repoId} on ${endpoint} is gated or private: set HF_TOKEN to a token with access${tokenNote}`
  )
}

function parseListing (body: unknown, options: ListRepoOptions, url: string): RepoListing {
  const siblings = (body as { siblings?: unknown } | null)?.siblings
  if (!Array.isArray(siblings)) {
    throw new HubError('invalid-response', `${url} returned no file list (no "siblings"); is HF_ENDPOINT a Hugging Face hub?`)
  }
  const sha = (body as { sha?: unknown }).sha
  return {
    repoId: options.repoId,
    revision: options.revision,
    commitSha: typeof sha === 'string' && /^[0-9a-f]{40}$/.test(sha) ? sha : undefined,
    files: siblings.flatMap((sibling) => {
      const file = parseSibling(sibling)
      return file ? [file] : []
    }),
  }
}

function parseSibling (sibling: unknown): RepoFile | undefined {
  if (!sibling || typeof sibling !== 'object') return undefined
  const { rfilename, size, blobId, lfs } = sibling as {
    rfilename?: unknown;
    size?: unknown;
    blobId?: unknown;
    lfs?: { sha256?: unknown; size?: unknown } | null;
  }
  if (typeof rfilename !== 'string') return undefined
  const lfsSize = typeof lfs?.size === 'number' ? lfs.size : undefined
  const fileSize = typeof size === 'number' ? size : lfsSize
  let checksum: ExpectedChecksum | undefined
  if (lfs && typeof lfs.sha256 === 'string') {
    checksum = { algorithm: 'sha256', hex: lfs.sha256.toLowerCase() }
  } else if (!lfs && typeof blobId === 'string') {
    checksum = { algorithm: 'git-blob-sha1', hex: blobId.toLowerCase() }
  }
  return { path: rfilename, size: fileSize, checksum }
}
