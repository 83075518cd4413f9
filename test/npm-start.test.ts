import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from './stress/scenarios/server-process.js'
import { syntheticModel } from './helpers/models.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/** Every process whose parent chain leads to `root` (Linux /proc). */
function descendants (root: number): number[] {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name, in parentheses, may hold spaces: the parent id is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const found: number[] = []
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) if (parent === pid) { found.push(child); walk(child) }
  }
  walk(root)
  return found
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const portOpen = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

t.test('npm start builds only what changed, and SIGTERM to npm stops the server', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async (t) => {
  // Compiled once (minutes on a busy machine when nothing is built yet); npm start must then find nothing to do.
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore', timeout: 240_000 })
  const compiled = join(repoRoot, 'dist', 'src', 'server.js')
  const builtAt = statSync(compiled).mtimeMs

  const port = await freePort()
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', WARMUP: 'false', MODEL: syntheticModel({ preset: 'tiny' }) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
  t.teardown(() => { for (const pid of [npm.pid as number, ...descendants(npm.pid as number)]) if (alive(pid)) process.kill(pid, 'SIGKILL') })

  const until = Date.now() + 120_000
  while (!/Server listening/.test(output) && Date.now() < until && npm.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100))
  t.match(output, /Server listening/, 'npm start serves')
  t.equal(await portOpen(port), true, 'on the port it was given')
  const processes = descendants(npm.pid as number)
  t.ok(processes.length > 0, 'the server runs under npm')
  t.equal(statSync(compiled).mtimeMs, builtAt, 'sources unchanged since the last build: nothing was compiled again')

  npm.kill('SIGTERM')
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000))])
  t.not(code, 'still running', 'npm exits after SIGTERM')
  t.match(output, /"signal":"SIGTERM".*closing: finishing requests in flight/, 'the server itself got the signal and shut down gracefully')
  t.equal(await portOpen(port), false, 'the port is closed')
  t.same(processes.filter(alive), [], 'no process npm started is left (no orphaned node)')
})
