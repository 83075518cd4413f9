import { Writable } from 'node:stream'

/** One line of the app's pino log, parsed. */
export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

/** A pino destination that keeps every line it is given, parsed, in `lines`: the log as `npm start` would write it. */
export function logLines (): { stream: Writable, lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    }
  })
  return { stream, lines }
}
