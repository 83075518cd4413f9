import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { LoopbackClient } from './loopback-client.js'
import { processRss } from './memory.js'
import { stressEnv } from './service.js'
import { sleep } from './wait.js'

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** When it exited, on performance.now()'s clock. */
  at: number
}

/** The service as it is deployed: `src/server.ts` in its own process, with signals, config and close-with-grace. */
export interface ServerProcess {
  child: ChildProcess
  port: number
  client: LoopbackClient
  exited: Promise<Exit>
  /** What the process wrote to stderr (start-up failures, close-with-grace's timeout message). */
  stderr: () => string
  /** The last 256 kB of its log (stdout), for the lines of a failed request. */
  log: () => string
  rss: () => number
  /** SIGKILL if it is still running: a scenario never leaves a server behind. */
  kill: () => Promise<void>
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

/** Spawns the server and waits until /health/ready says so (or it exits, or `readyTimeoutMs` passes). */
export async function spawnServer (env: Record<string, string>, readyTimeoutMs = 60_000): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repositoryRoot,
    env: { ...process.env, ...stressEnv(), HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  child.stdout?.on('data', (chunk: Buffer) => { log = (log + chunk.toString('utf8')).slice(-256 * 1024) })
  // Should this process die first (a failed assertion, a timeout), the server must not outlive it.
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => {
    process.removeListener('exit', killOnExit)
    resolve({ code, signal, at: performance.now() })
  }))
  const client = new LoopbackClient(port)
  const server: ServerProcess = {
    child,
    port,
    client,
    exited,
    stderr: () => stderr,
    log: () => log,
    rss: () => processRss(child.pid as number),
    kill: async () => {
      client.close()
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
  const until = performance.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was ready: ${stderr}`)
    const ready = await client.send('/health/ready', { timeoutMs: 2000 })
    if (ready.status === 200) return server
    if (performance.now() > until) {
      await server.kill()
      throw new Error(`the server was not ready after ${readyTimeoutMs} ms: ${stderr}`)
    }
    await sleep(100)
  }
}
