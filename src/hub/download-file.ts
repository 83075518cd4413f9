import { mkdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { unauthorizedError } from './hub-api.js'
import { createContentHasher, describeChecksum, hashFileInto } from './checksum.js'
import { HubError } from './hub-errors.js'
import { describeNetworkError, fetchFollowingRedirects } from './hub-http.js'
import { PartFile } from './part-file.js'
import { formatBytes, type FileProgress } from './progress.js'
import type { VerifiedRepoFile } from './variant-files.js'

export interface RetryPolicy {
  /** Tries per file, the first included. */
  attempts: number;
  /** Delay before the first retry; doubles after each further failure. */
  backoffMs: number;
  /** A connection that delivers nothing for this long counts as dropped. */
  stallTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, backoffMs: 1000, stallTimeoutMs: 60_000 }

export interface DownloadRequest {
  url: string;
  destination: string;
  file: VerifiedRepoFile;
  /** For messages: which repo on which hub refused us. */
  repoId: string;
  endpoint: string;
  token?: string | undefined;
  progress: FileProgress;
  retry?: RetryPolicy;
}

export type DownloadOutcome = 'downloaded' | 'skipped'

/** A failure worth retrying from where the .part file stands. */
class TransferInterrupted extends Error {}

/**
 * Fetches one file into `<destination>.part`, resuming whatever is already there, and
 * renames it into place only once size and checksum match the hub's listing, so a file
 * at `destination` is always complete.
 */
export async function downloadFile (request: DownloadRequest): Promise<DownloadOutcome> {
  const { destination, file, progress } = request
  const existing = await compareExisting(destination, file)
  if (existing === 'match') {
    progress.skipped('already present, checksum ok')
    return 'skipped'
  }
  if (existing === 'differs') progress.restarted('the local copy differs from the hub')

  await mkdir(dirname(destination), { recursive: true })
  const partPath = `${destination}.part`
  const part = await PartFile.open(partPath, file.checksum, file.size)
  try {
    progress.started(part.size)
    await fetchWithRetries(request, part)
    const digest = await part.finish()
    if (digest !== file.checksum.hex) {
      throw new HubError(
        'integrity',
        `checksum mismatch for ${file.path}: expected ${describeChecksum(file.checksum)} ${file.checksum.hex}, got ${digest}; ` +
          'the partial download was deleted, run the command again'
      )
    }
    await rename(partPath, destination)
    progress.finished(file.size)
    return 'downloaded'
  } catch (error) {
    await part.close()
    progress.failed()
    // A .part with wrong bytes would poison every later resume.
    if (error instanceof HubError && error.kind === 'integrity') await unlink(partPath).catch(() => {})
    throw error
  }
}

async function compareExisting (destination: string, file: VerifiedRepoFile): Promise<'match' | 'differs' | 'absent'> {
  const info = await stat(destination).catch(() => undefined)
  if (!info) return 'absent'
  if (!info.isFile() || info.size !== file.size) return 'differs'
  const hasher = createContentHasher(file.checksum, file.size)
  await hashFileInto(hasher, destination)
  return hasher.digestHex() === file.checksum.hex ? 'match' : 'differs'
}

async function fetchWithRetries (request: DownloadRequest, part: PartFile): Promise<void> {
  const policy = request.retry ?? DEFAULT_RETRY_POLICY
  for (let attempt = 1; part.size < request.file.size; attempt++) {
    try {
      await fetchRemainder(request, part, policy.stallTimeoutMs)
    } catch (error) {
      if (!(error instanceof TransferInterrupted)) throw error
      if (attempt >= policy.attempts) {
        throw new HubError(
          'download-failed',
          `downloading ${request.file.path} failed after ${policy.attempts} attempts: ${error.message}; ` +
            `run the command again to resume from ${formatBytes(part.size)}`,
          { cause: error }
        )
      }
      const delayMs = policy.backoffMs * 2 ** (attempt - 1)
      request.progress.retrying(error.message, delayMs, part.size)
      await sleep(delayMs)
    }
  }
}

/** One request for the bytes the .part file still lacks. */
async function fetchRemainder (request: DownloadRequest, part: PartFile, stallTimeoutMs: number): Promise<void> {
  const { file } = request
  const watchdog = new StallWatchdog(stallTimeoutMs)
  try {
    const offset = part.size
    let response: Response
    try {
      ({ response } = await fetchFollowingRedirects({
        url: request.url,
        hubOrigin: new URL(request.endpoint).origin,
        token: request.token,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        signal: watchdog.signal,
      }))
    } catch (error) {
      if (error instanceof HubError) throw error
      throw new TransferInterrupted(watchdog.describe(error), { cause: error })
    }
    await acceptResponse(request, response, part, offset)
    await streamBodyIntoPart(request, response, part, watchdog)
    if (part.size < file.size) {
      // The declared length was right (acceptResponse checked it), so the body was cut short.
      throw new TransferInterrupted(`connection closed at ${formatBytes(part.size)} of ${formatBytes(file.size)}`)
    }
  } finally {
    watchdog.stop()
  }
}

/**
 * Checks the status and lines the .part file up with what the body will contain. A
 * declared length that disagrees with the listing fails here, before any bytes are
 * written: retrying could not fix it.
 */
async function acceptResponse (request: DownloadRequest, response: Response, part: PartFile, offset: number): Promise<void> {
  const { file } = request
  const discardBody = () => response.body?.cancel().catch(() => {})
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'))
    if (!range || range.start !== offset) {
      await discardBody()
      await part.restart()
      request.progress.restarted('the server resumed at another offset')
      throw new TransferInterrupted('unexpected Content-Range')
    }
    if (range.total !== undefined && range.total !== file.size) {
      await discardBody()
      throw sizeMismatch(file, range.total)
    }
    return
  }
  if (response.status === 200) {
    if (offset > 0) {
      // Range ignored: the body is the whole file, so the partial bytes must go.
      await part.restart()
      request.progress.restarted('the server does not support resuming')
    }
    const length = response.headers.get('content-length')
    const declared = length === null ? undefined : Number(length)
    if (declared !== undefined && declared !== file.size) {
      await discardBody()
      throw sizeMismatch(file, declared)
    }
    return
  }
  await discardBody()
  if (response.status === 416) {
    // Our part no longer lines up with the remote file (it changed, or the part is bogus).
    await part.restart()
    request.progress.restarted('the server rejected the resume offset')
    throw new TransferInterrupted('HTTP 416 Range Not Satisfiable')
  }
  if (response.status === 401 || response.status === 403) {
    throw unauthorizedError(request.repoId, request.endpoint, response.status, request.token)
  }
  if (response.status === 404) {
    throw new HubError('not-found', `${file.path} is in the listing of ${request.repoId} but ${request.url} answered 404`)
  }
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    throw new TransferInterrupted(`HTTP ${response.status} ${response.statusText}`.trim())
  }
  throw new HubError('download-failed', `downloading ${file.path} failed: HTTP ${response.status} from ${request.url}`)
}

async function streamBodyIntoPart (
  request: DownloadRequest,
  response: Response,
  part: PartFile,
  watchdog: StallWatchdog
): Promise<void> {
  if (!response.body) throw new TransferInterrupted('empty response')
  const reader = response.body.getReader()
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        watchdog.arm()
        chunk = await reader.read()
      } catch (error) {
        throw new TransferInterrupted(watchdog.describe(error, 'connection dropped: '), { cause: error })
      }
      if (chunk.done) return
      if (part.size + chunk.value.length > request.file.size) {
        throw sizeMismatch(request.file, part.size + chunk.value.length, 'at least ')
      }
      await part.append(chunk.value)
      request.progress.advanced(part.size)
    }
  } finally {
    // Frees the connection when we stop early; a no-op after a complete body.
    await reader.cancel().catch(() => {})
  }
}

function sizeMismatch (file: VerifiedRepoFile, actual: number, qualifier = ''): HubError {
  return new HubError(
    'integrity',
    `size mismatch for ${file.path}: expected ${file.size} bytes, got ${qualifier}${actual}; ` +
      'the partial download was deleted, run the command again'
  )
}

function parseContentRange (header: string | null): { start: number; total: number | undefined } | undefined {
  const match = header && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim())
  if (!match) return undefined
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) }
}

/** Aborts a request that goes quiet, since a half-open TCP connection can hang forever. */
class StallWatchdog {
  private readonly controller = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private fired = false

  constructor (private readonly timeoutMs: number) {
    this.arm()
  }

  get signal (): AbortSignal {
    return this.controller.signal
  }

  /** Restarts the countdown; called before every read, so it measures silence, not total time. */
  arm (): void {
    if (this.timer) {
      this.timer.refresh()
      return
    }
    this.timer = setTimeout(() => {
      this.fired = true
      this.controller.abort()
    }, this.timeoutMs)
  }

  stop (): void {
    clearTimeout(this.timer)
  }

  describe (error: unknown, networkPrefix = ''): string {
    if (!this.fired) return networkPrefix + describeNetworkError(error)
    const seconds = this.timeoutMs / 1000
    return `no data for ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`
  }
}
