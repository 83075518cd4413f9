import { connect, type Socket } from 'node:net'

/**
 * A request written by hand on its own TCP connection, for what an HTTP client library will not do: announce a
 * body and send only part of it, trickle it byte by byte, or vanish at a chosen moment.
 */
export class RawRequest {
  /** Whatever the server wrote back (a status line, if it answered at all). */
  response = ''
  readonly closed: Promise<void>
  private constructor (readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => { this.response += chunk.toString('latin1') })
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
  }

  /** A connection with nothing written yet: for bytes that are not a well-formed request. */
  static async connect (port: number): Promise<RawRequest> {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setNoDelay(true)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawRequest(socket)
  }

  /** Sends the request line and headers; `finishHeaders: false` leaves the header block open for more. */
  static async open (port: number, path: string, headers: Record<string, string | number>, finishHeaders = true): Promise<RawRequest> {
    const request = await RawRequest.connect(port)
    const lines = Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}`)
    await request.write(`POST ${path} HTTP/1.1\r\n${lines.map((line) => `${line}\r\n`).join('')}${finishHeaders ? '\r\n' : ''}`)
    return request
  }

  /** A raw image upload: headers announcing `contentLength` bytes (the whole body unless told otherwise). */
  static async upload (port: number, path: string, body: Buffer, contentLength = body.length): Promise<RawRequest> {
    const request = await RawRequest.open(port, path, { 'content-type': 'application/octet-stream', 'content-length': contentLength })
    await request.write(body)
    return request
  }

  async write (bytes: Buffer | string): Promise<void> {
    if (this.socket.destroyed) return
    await new Promise<void>((resolve) => this.socket.write(bytes, () => resolve()))
  }

  /** The status code of the answer, or 0 when none came. */
  get status (): number {
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.response)?.[1] ?? 0)
  }

  /** The client goes away: the connection is reset, as when a browser tab or a proxy gives up. */
  destroy (): void {
    this.socket.destroy()
  }

  get isClosed (): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed'
  }
}
