/** Where progress goes; process.stderr in the CLI, a fake stream in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Progress of one file; `bytes` is always the total on disk, resumed bytes included. */
export interface FileProgress {
  started(bytes: number): void;
  advanced(bytes: number): void;
  retrying(reason: string, delayMs: number, bytes: number): void;
  restarted(reason: string): void;
  finished(bytes: number): void;
  skipped(reason: string): void;
  failed(): void;
}

export interface ProgressReporter {
  forFile(name: string, totalBytes: number): FileProgress;
}

export interface ProgressOptions {
  /** Milliseconds clock, injectable so tests can check rates. */
  now?: () => number;
  /** Minimum gap between in-place redraws; redrawing per chunk would flood the terminal. */
  redrawIntervalMs?: number;
}

/** A redrawn single-line bar on a terminal, plain log lines anywhere else (CI, pipes, files). */
export function createProgressReporter (stream: ProgressStream, options: ProgressOptions = {}): ProgressReporter {
  const now = options.now ?? (() => performance.now())
  const forFile = stream.isTTY
    ? (name: string, total: number) => new TerminalBar(stream, name, total, now, options.redrawIntervalMs ?? 100)
    : (name: string, total: number) => new LogLines(stream, name, total, now)
  return { forFile }
}

/** Measures the rate over the bytes fetched by this run only, not bytes resumed from disk. */
class Transfer {
  private startBytes = 0
  private startTime = 0

  constructor (private readonly now: () => number) {}

  begin (bytes: number): void {
    this.startBytes = bytes
    this.startTime = this.now()
  }

  rate (bytes: number): number {
    const seconds = (this.now() - this.startTime) / 1000
    return seconds > 0 ? (bytes - this.startBytes) / seconds : 0
  }

  elapsedSeconds (): number {
    return (this.now() - this.startTime) / 1000
  }
}

class TerminalBar implements FileProgress {
  private readonly transfer: Transfer
  private lastDraw = -Infinity

  constructor (
    private readonly stream: ProgressStream,
    private readonly name: string,
    private readonly total: number,
    private readonly now: () => number,
    private readonly redrawIntervalMs: number
  ) {
    this.transfer = new Transfer(now)
  }

  started (bytes: number): void {
    this.transfer.begin(bytes)
    this.draw(bytes, true)
  }

  advanced (bytes: number): void {
    this.draw(bytes, false)
  }

  retrying (reason: string, delayMs: number, bytes: number): void {
    this.line(`${this.name}: ${reason}; retrying from ${formatBytes(bytes)} in ${formatSeconds(delayMs / 1000)}`)
  }

  restarted (reason: string): void {
    this.transfer.begin(0)
    this.line(`${this.name}: ${reason}; starting over`)
  }

  finished (bytes: number): void {
    this.draw(bytes, true)
    this.stream.write('\n')
  }

  skipped (reason: string): void {
    this.line(`${this.name}: ${reason}`)
  }

  failed (): void {
    this.stream.write('\n')
  }

  private line (text: string): void {
    this.stream.write(`\r\x1b[K${text}\n`)
  }

  private draw (bytes: number, force: boolean): void {
    const time = this.now()
    if (!force && time - this.lastDraw < this.redrawIntervalMs) return
    this.lastDraw = time
    const fraction = this.total > 0 ? Math.min(1, bytes / this.total) : 1
    const width = 24
    const filled = Math.round(fraction * width)
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
    const amounts = `${formatBytes(bytes)} / ${formatBytes(this.total)}`
    const rate = `${formatBytes(this.transfer.rate(bytes))}/s`
    let text = `${this.name} ${bar} ${percent} ${amounts} ${rate}`
    // A line wider than the terminal wraps, and \r then only redraws its last row.
    const columns = this.stream.columns
    if (columns && text.length >= columns) text = text.slice(0, columns - 1)
    this.stream.write(`\r\x1b[K${text}`)
  }
}

class LogLines implements FileProgress {
  private readonly transfer: Transfer
  private lastTenth = 0

  constructor (
    private readonly stream: ProgressStream,
    private readonly name: string,
    private readonly total: number,
    now: () => number
  ) {
    this.transfer = new Transfer(now)
  }

  started (bytes: number): void {
    this.transfer.begin(bytes)
    this.lastTenth = this.tenths(bytes)
    const resumed = bytes > 0 ? `, resuming at ${formatBytes(bytes)}` : ''
    this.write(`fetching ${this.name} (${formatBytes(this.total)}${resumed})`)
  }

  advanced (bytes: number): void {
    const tenth = this.tenths(bytes)
    // Every 10% is enough for a log; the final 100% is the "done" line.
    if (tenth <= this.lastTenth || tenth >= 10) return
    this.lastTenth = tenth
    this.write(
      `${this.name}: ${tenth * 10}% (${formatBytes(bytes)} / ${formatBytes(this.total)}, ${formatBytes(this.transfer.rate(bytes))}/s)`
    )
  }

  retrying (reason: string, delayMs: number, bytes: number): void {
    this.write(`${this.name}: ${reason}; retrying from ${formatBytes(bytes)} in ${formatSeconds(delayMs / 1000)}`)
  }

  restarted (reason: string): void {
    this.transfer.begin(0)
    this.lastTenth = 0
    this.write(`${this.name}: ${reason}; starting over`)
  }

  finished (bytes: number): void {
    this.write(
      `${this.name}: done (${formatBytes(bytes)} in ${formatSeconds(this.transfer.elapsedSeconds())}, ${formatBytes(this.transfer.rate(bytes))}/s)`
    )
  }

  skipped (reason: string): void {
    this.write(`${this.name}: ${reason}`)
  }

  failed (): void {}

  private tenths (bytes: number): number {
    return this.total > 0 ? Math.floor((bytes / this.total) * 10) : 10
  }

  private write (text: string): void {
    this.stream.write(`${text}\n`)
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes (bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

function formatSeconds (seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`
}
