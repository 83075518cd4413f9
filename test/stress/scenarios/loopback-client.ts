import { Agent, request, type ClientRequest, type IncomingHttpHeaders } from 'node:http'

/** One answer, or why there was none: `status` 0 with `error` set (refused, reset, timed out). */
export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  ms: number
  error?: string
}

export interface SendOptions {
  method?: string
  body?: Buffer
  headers?: Record<string, string>
  /** Every request ends by itself: past this it is destroyed and answered with error 'timeout'. */
  timeoutMs?: number
}

/**
 * A real HTTP client over loopback with keep-alive, as a load balancer or an SDK would be. It never throws: a
 * stress scenario counts failures instead of stopping at the first one.
 */
export class LoopbackClient {
  private readonly agent: Agent

  /** `maxSockets` bounds the connections, as a client's pool does; requests beyond it wait in the client. */
  constructor (readonly port: number, options: { keepAlive?: boolean, maxSockets?: number } = {}) {
    this.agent = new Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? Infinity })
  }

  async send (path: string, options: SendOptions = {}): Promise<Answer> {
    const { method = options.body === undefined ? 'GET' : 'POST', body, headers = {}, timeoutMs = 15_000 } = options
    const started = performance.now()
    const failed = (error: Error): Omit<Answer, 'ms'> => ({ status: 0, headers: {}, body: Buffer.alloc(0), error: describe(error) })
    return new Promise((resolve) => {
      // eslint-disable-next-line prefer-const -- settle, made before the request, clears the timer set after it
      let timer: NodeJS.Timeout | undefined
      const settle = (answer: Omit<Answer, 'ms'>): void => {
        clearTimeout(timer)
        resolve({ ...answer, ms: performance.now() - started })
      }
      let req: ClientRequest
      try {
        req = request({
          agent: this.agent,
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          headers: withoutEmpty(body === undefined ? headers : { 'content-type': 'application/octet-stream', ...headers, 'content-length': String(body.length) })
        }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => settle({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
          res.on('error', (error) => settle(failed(error)))
        })
      } catch (error) {
        // A path or header Node refuses to send: the request never left, and the answer says why.
        settle(failed(error as Error))
        return
      }
      timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs)
      req.on('error', (error) => settle(failed(error)))
      req.end(body)
    })
  }

  async post (path: string, body: Buffer, options: Omit<SendOptions, 'body'> = {}): Promise<Answer> {
    return this.send(path, { ...options, body })
  }

  close (): void {
    this.agent.destroy()
  }
}

/** An empty header value means "send no such header" (a body without a content type, for one). */
function withoutEmpty (headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''))
}

function describe (error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.message
}

/** The JSON error code of an answer (`{"error": "overloaded", ...}`), or undefined. */
export function errorCode (answer: Answer): string | undefined {
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { error?: string }).error
  } catch {
    return undefined
  }
}

/** "200×812 429×7310 0(ECONNRESET)×2": statuses, and errors for requests that got no answer. */
export function countStatuses (answers: Answer[]): string {
  const counts = new Map<string, number>()
  for (const answer of answers) {
    const key = answer.status === 0 ? `0(${answer.error ?? '?'})` : String(answer.status)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort().map(([key, count]) => `${key}×${count}`).join(' ')
}
