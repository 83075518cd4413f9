import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export interface RunningService {
  url: string
  pid: number
  child: ChildProcess
  /** Peak resident memory of the service process so far (VmHWM), in MiB. */
  peakRssMiB: () => number
  rssMiB: () => number
  stop: () => Promise<void>
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

function procStatus (pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
  return line === undefined ? NaN : Number(line.split(/\s+/)[1]) / 1024
}

/**
 * The service as users run it, in its own process (from the checkout at `root`), ready before this returns. `entry`
 * runs another server the same way (lean-server.ts, which also takes IPC messages: `ipc`).
 */
export async function startService (env: Record<string, string>, root = process.cwd(), options: { entry?: string, ipc?: boolean } = {}): Promise<RunningService> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    // Its log goes to this process's stderr: a script's stdout holds only what it measured (a JSON document).
    stdio: options.ipc === true ? ['ignore', 2, 'inherit', 'ipc'] : ['ignore', 2, 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 600_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`)
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('the service did not get ready in 600 s')
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const pid = child.pid as number
  return {
    url,
    pid,
    child,
    peakRssMiB: () => procStatus(pid, 'VmHWM'),
    rssMiB: () => procStatus(pid, 'VmRSS'),
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}
