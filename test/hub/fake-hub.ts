/**
 * A loopback stand-in for the Hugging Face hub: the revision API with `?blobs=true`,
 * /resolve downloads, and a "CDN" route, with switches for the awkward cases a real
 * pull meets (redirects, gated repos, dropped connections, servers that ignore Range).
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeFile {
  path: string;
  content: Buffer;
  /** LFS files are listed with a sha256; plain git files only with their blob id. */
  lfs: boolean;
}

export interface FakeHubSwitches {
  /** How /resolve answers: with the bytes, or a 302 to the CDN route. */
  redirect: 'none' | 'same-server' | 'relative' | 'other-server';
  honourRange: boolean;
  /** When set, requests to the hub (not the CDN) need `Authorization: Bearer <token>`. */
  requireToken: string | undefined;
  /** Gated repos on the real hub list publicly and refuse only the downloads. */
  gatedFilesOnly: boolean;
  /** path → bytes: the next response for that file stops after that many body bytes. */
  dropAfterBytes: Map<string, number>;
  /** path → bytes: every response for that file stops after that many body bytes. */
  alwaysDropAfterBytes: Map<string, number>;
  /** path → bytes: the next response for that file sends that many body bytes, then goes silent. */
  stallAfterBytes: Map<string, number>;
  /** Files served with one byte flipped (same size, wrong checksum). */
  corrupt: Set<string>;
  /** Files served with these bytes instead of the listed ones (e.g. a different length). */
  servedContent: Map<string, Buffer>;
}

export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  /** Repo path of the file whose bytes this request asked for, if any. */
  filePath: string | undefined;
  status: number;
}

export interface FakeHub {
  endpoint: string;
  cdnEndpoint: string;
  repoId: string;
  sha: string;
  files: FakeFile[];
  switches: FakeHubSwitches;
  requests: RecordedRequest[];
  /** Requests that asked for a file's bytes (hub /resolve without redirect, or the CDN). */
  contentRequests(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export function gitBlobSha1 (content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

/** A small repo shaped like onnx-community's DINOv3 exports. */
export function makeDinoRepoFiles (): FakeFile[] {
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`)
  return [
    { path: '.gitattributes', content: Buffer.from('*.onnx filter=lfs diff=lfs merge=lfs -text\n'), lfs: false },
    { path: 'README.md', content: Buffer.from('# tiny dinov3\n'), lfs: false },
    { path: 'config.json', content: json({ model_type: 'dinov3_vit', hidden_size: 384, patch_size: 16 }), lfs: false },
    {
      path: 'preprocessor_config.json',
      content: json({ image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225], size: { height: 224, width: 224 } }),
      lfs: false,
    },
    { path: 'onnx/model.onnx', content: randomBytes(24 * 1024), lfs: true },
    { path: 'onnx/model.onnx_data', content: randomBytes(256 * 1024), lfs: true },
    { path: 'onnx/model_fp16.onnx', content: randomBytes(12 * 1024), lfs: true },
    { path: 'onnx/model_q4.onnx', content: randomBytes(8 * 1024), lfs: true },
    { path: 'onnx/model_q4.onnx_data_1', content: randomBytes(6 * 1024), lfs: true },
    { path: 'onnx/model_q4.onnx_data', content: randomBytes(6 * 1024), lfs: true },
  ]
}

export async function startFakeHub (
  options: { repoId?: string; files?: FakeFile[]; switches?: Partial<FakeHubSwitches> } = {}
): Promise<FakeHub> {
  const repoId = options.repoId ?? 'test-org/tiny-dinov3-ONNX'
  const files = options.files ?? makeDinoRepoFiles()
  const sha = createHash('sha1').update(repoId).digest('hex')
  const switches: FakeHubSwitches = {
    redirect: 'none',
    honourRange: true,
    requireToken: undefined,
    gatedFilesOnly: false,
    dropAfterBytes: new Map(),
    alwaysDropAfterBytes: new Map(),
    stallAfterBytes: new Map(),
    corrupt: new Set(),
    servedContent: new Map(),
    ...options.switches,
  }
  const requests: RecordedRequest[] = []
  const byPath = new Map(files.map((file) => [file.path, file]))

  const record = (server: RecordedRequest['server'], req: IncomingMessage, res: ServerResponse, filePath?: string) => {
    requests.push({
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
      filePath,
      status: res.statusCode,
    })
  }

  const serveContent = (server: RecordedRequest['server'], req: IncomingMessage, res: ServerResponse, file: FakeFile) => {
    let body = switches.servedContent.get(file.path) ?? file.content
    if (switches.corrupt.has(file.path)) {
      body = Buffer.from(body)
      body[body.length >> 1] ^= 0xff
    }
    const total = body.length
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' }
    const range = switches.honourRange ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null
    if (range) {
      const start = Number(range[1])
      const end = range[2] ? Math.min(Number(range[2]), total - 1) : total - 1
      if (start >= total || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${total}` })
        record(server, req, res, file.path)
        res.end()
        return
      }
      body = body.subarray(start, end + 1)
      res.statusCode = 206
      headers['content-range'] = `bytes ${start}-${end}/${total}`
    } else {
      res.statusCode = 200
    }
    headers['content-length'] = body.length
    res.writeHead(res.statusCode, headers)
    record(server, req, res, file.path)
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    const dropAfter = switches.dropAfterBytes.get(file.path) ?? switches.alwaysDropAfterBytes.get(file.path)
    if (dropAfter !== undefined && dropAfter < body.length) {
      switches.dropAfterBytes.delete(file.path)
      // Send part of the promised Content-Length, then cut the connection. The pause lets the
      // client consume those bytes first: fetch discards body chunks still buffered when the
      // socket errors, which is fine for the downloader (it resumes from what reached disk)
      // but would make the Range a test expects depend on timing.
      res.write(body.subarray(0, dropAfter), () => setTimeout(() => res.socket?.destroy(), 30))
      return
    }
    const stallAfter = switches.stallAfterBytes.get(file.path)
    if (stallAfter !== undefined && stallAfter < body.length) {
      switches.stallAfterBytes.delete(file.path)
      // Keep the socket open and quiet, like a half-dead connection; close() ends it.
      res.write(body.subarray(0, stallAfter))
      return
    }
    res.end(body)
  }

  const sendError = (
    server: RecordedRequest['server'],
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    errorCode?: string
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(errorCode ? { 'x-error-code': errorCode } : {}) })
    record(server, req, res)
    res.end(JSON.stringify({ error: errorCode ?? `HTTP ${status}` }))
  }

  const authorised = (req: IncomingMessage) =>
    !switches.requireToken || req.headers.authorization === `Bearer ${switches.requireToken}`

  const cdnLocation = (filePath: string) => {
    const route = `/cdn/${sha}/${filePath}?signature=fake`
    if (switches.redirect === 'relative') return route
    if (switches.redirect === 'other-server') return `${cdnEndpoint}${route}`
    return `${endpoint}${route}`
  }

  const serveCdn = (server: RecordedRequest['server'], req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const match = /^\/cdn\/([0-9a-f]{40})\/(.+)$/.exec(pathname)
    const file = match ? byPath.get(decodeURIComponent(match[2])) : undefined
    if (!file) return sendError(server, req, res, 404)
    serveContent(server, req, res, file)
  }

  const hubServer = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://fake-hub')
    if (pathname === '/') {
      res.writeHead(200)
      record('hub', req, res)
      res.end()
      return
    }
    if (pathname.startsWith('/cdn/')) return serveCdn('hub', req, res, pathname)

    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(pathname)
    if (api) {
      if (api[1] !== repoId) return sendError('hub', req, res, 404, 'RepoNotFound')
      if (!switches.gatedFilesOnly && !authorised(req)) return sendError('hub', req, res, 401)
      const revision = decodeURIComponent(api[2])
      if (revision !== 'main' && revision !== sha) return sendError('hub', req, res, 404, 'RevisionNotFound')
      const siblings = files.map((file) => ({
        rfilename: file.path,
        size: file.content.length,
        blobId: file.lfs ? createHash('sha1').update(file.path).digest('hex') : gitBlobSha1(file.content),
        ...(file.lfs
          ? { lfs: { sha256: createHash('sha256').update(file.content).digest('hex'), size: file.content.length, pointerSize: 134 } }
          : {}),
      }))
      res.writeHead(200, { 'content-type': 'application/json' })
      record('hub', req, res)
      res.end(JSON.stringify({ id: repoId, sha, siblings }))
      return
    }

    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(pathname)
    if (resolve) {
      if (resolve[1] !== repoId) return sendError('hub', req, res, 404, 'RepoNotFound')
      if (!authorised(req)) return sendError('hub', req, res, 401, switches.gatedFilesOnly ? 'GatedRepo' : undefined)
      const revision = decodeURIComponent(resolve[2])
      if (revision !== 'main' && revision !== sha) return sendError('hub', req, res, 404, 'RevisionNotFound')
      const filePath = resolve[3].split('/').map(decodeURIComponent).join('/')
      const file = byPath.get(filePath)
      if (!file) return sendError('hub', req, res, 404, 'EntryNotFound')
      if (switches.redirect !== 'none') {
        res.writeHead(302, { location: cdnLocation(filePath) })
        record('hub', req, res)
        res.end()
        return
      }
      return serveContent('hub', req, res, file)
    }
    sendError('hub', req, res, 404)
  })

  const cdnServer = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://fake-cdn')
    serveCdn('cdn', req, res, pathname)
  })

  const listen = (server: Server) =>
    new Promise<string>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
    )
  const endpoint = await listen(hubServer)
  const cdnEndpoint = await listen(cdnServer)

  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })

  return {
    endpoint,
    cdnEndpoint,
    repoId,
    sha,
    files,
    switches,
    requests,
    contentRequests: (path) => requests.filter((request) => request.filePath === path),
    close: async () => {
      await Promise.all([close(hubServer), close(cdnServer)])
    },
  }
}

/** An http://127.0.0.1:<port> where nothing listens: a port we held and let go. */
export async function unusedEndpoint (): Promise<string> {
  const server = createServer()
  const url = await new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  )
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return url
}
