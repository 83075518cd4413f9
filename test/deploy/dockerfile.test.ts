import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { builtinModules, createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ValidationSeverity, validate, type ValidatorSettings } from 'dockerfile-utils'
import t from 'tap'
import ts from 'typescript'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { syntheticModel } from '../helpers/models.js'
import { hasTool, readRepoFile, repoPath, run } from './deploy-helpers.js'

interface Instruction { keyword: string, args: string }
interface Stage { name: string, base: string, instructions: Instruction[] }

/** Dockerfile → global ARG defaults and stages (continuation lines joined, comments dropped). */
function parseDockerfile (text: string): { args: Record<string, string>, stages: Stage[] } {
  const logical: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#')) continue
    if (line.endsWith('\\')) { pending += `${line.slice(0, -1).trim()} `; continue }
    const joined = (pending + line).trim()
    pending = ''
    if (joined !== '') logical.push(joined)
  }
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  for (const line of logical) {
    const [, keyword, rest] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { keyword: keyword.toUpperCase(), args: rest }
    if (instruction.keyword === 'FROM') {
      const [, base, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? []
      stages.push({ name: name ?? String(stages.length), base, instructions: [] })
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name, value = ''] = rest.split('=')
      args[name] = value
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { args, stages }
}

const { args, stages } = parseDockerfile(readRepoFile('Dockerfile'))
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no stage ${name}`)
  return found
}
const all = (s: Stage, keyword: string): string[] => s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
const last = (s: Stage, keyword: string): string | undefined => all(s, keyword).at(-1)
const expand = (value: string): string => value.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '')
/** The stages a stage is built on, itself first. */
const lineage = (s: Stage): Stage[] => {
  const parent = stages.find((p) => p.name === s.base)
  return parent === undefined ? [s] : [s, ...lineage(parent)]
}
const env = (s: Stage): string => all(s, 'ENV').join(' ')
const packageJson = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string>, dependencies: Record<string, string>, devDependencies: Record<string, string>, allowScripts?: Record<string, boolean> }

t.test('two final targets, cpu and gpu; cpu is the default (last) stage', async (t) => {
  t.ok(stages.some((s) => s.name === 'gpu'))
  t.equal(stages.at(-1)?.name, 'cpu')
  t.match(expand(stage('cpu').base), /^node:20-bookworm-slim$/)
})

t.test('the GPU target stands on a CUDA 12 + cuDNN runtime image and carries Node 20', async (t) => {
  const gpu = stage('gpu')
  t.match(expand(gpu.base), /^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn(9)?-runtime-ubuntu\d+\.\d+$/)
  const nodeCopy = all(gpu, 'COPY').find((c) => c.includes('/usr/local/bin/node'))
  t.ok(nodeCopy, 'the node binary is copied in')
  const from = /--from=(\S+)/.exec(nodeCopy ?? '')?.[1] ?? ''
  t.match(expand(stage(from).base), /^node:20-/, 'from the official Node 20 image')
  t.match(env(gpu), /EXECUTION_PROVIDERS=cuda,cpu/)
})

for (const name of ['cpu', 'gpu']) {
  t.test(`the ${name} target runs unprivileged, checks readiness, and starts the compiled server`, async (t) => {
    const s = stage(name)
    const user = last(s, 'USER') ?? 'root'
    t.match(user, /^\d+(:\d+)?$/, 'a numeric user, which Kubernetes runAsNonRoot can verify')
    t.not(Number(user.split(':')[0]), 0, 'not root')
    const healthcheck = last(s, 'HEALTHCHECK') ?? ''
    t.match(healthcheck, /\/health\/ready/)
    t.notMatch(healthcheck, /curl|wget/, 'no tool the base image lacks')
    t.match(env(s), /MODELS_DIR=\/models/)
    const cmd = JSON.parse(last(s, 'CMD') ?? '[]') as string[]
    t.same(cmd, /&& exec (.+)$/.exec(packageJson.scripts.start)?.[1].split(' '), 'the command npm start ends in, without npm and its build step (tsc is pruned)')
    t.ok(all(s, 'COPY').some((c) => /node_modules/.test(c)) && all(s, 'COPY').some((c) => /\/app\/dist/.test(c)), 'dependencies and dist copied from a build stage')
  })
}

t.test('the build uses the CI commands: npm ci, npm run build, then prune the dev dependencies', async (t) => {
  const runs = stages.flatMap((s) => all(s, 'RUN'))
  const text = runs.join('\n')
  t.match(text, /\bnpm ci\b/)
  t.match(text, /\bnpm run build\b/)
  t.match(text, /\bnpm prune --omit=dev\b/)
  // Project dependencies come from the lock file only; the one `npm install` allowed pins npm itself (the CI's npm 11).
  for (const command of text.split(/&&|;|\n/)) {
    if (/\bnpm (install|i|add)\b/.test(command)) t.match(command.trim(), /^npm install --global npm@\S+$/, `only npm itself is installed: ${command.trim()}`)
  }
  // eslint-disable-next-line no-template-curly-in-string -- a Dockerfile ${ARG}, expanded by the test
  t.equal(expand('${NPM_VERSION}').split('.')[0], '11', 'npm 11, which honours allowScripts as in CI')
  t.match(packageJson.scripts.build, /^bash scripts\/build-native\.sh && tsc -b tsconfig\.build\.json$/)
  t.match(text, /test -f build\/native\/jpeg-rgb\.node/, 'the image fails to build without its native JPEG decoder')
})

t.test('both images carry the native JPEG decoder and a libjpeg beside it', async (t) => {
  for (const name of ['cpu', 'gpu']) {
    t.ok(all(stage(name), 'COPY').some((c) => /--from=\S+\s+\/app\/build\s/.test(c)), `${name}: build/ copied from a build stage`)
  }
  t.match(stages.flatMap((s) => all(s, 'RUN')).join('\n'), /cp -L "[^"]*libjpeg\.so\.62" build\/native\//)
  t.ok(all(stage('build'), 'COPY').some((c) => /^native\s/.test(c)), 'native/ is in the build context')
})

t.test('the GPU target gets onnxruntime-node\'s CUDA provider from its install script', async (t) => {
  const gpu = stage('gpu')
  const source = /--from=(\S+)\s+\S*node_modules/.exec(all(gpu, 'COPY').join('\n'))?.[1]
  t.ok(source, 'node_modules comes from a stage')
  const installRun = lineage(stage(source ?? '')).flatMap((s) => all(s, 'RUN')).find((r) => r.includes('onnxruntime-node/script/install.js'))
  t.ok(installRun, 'that stage (or one below it) runs the install script')
  t.match(installRun, /ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/)
  t.match(installRun, /test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/, 'and fails the build if the library is missing')
  t.notOk(lineage(stage('cpu')).some((s) => all(s, 'RUN').some((r) => r.includes('script/install.js'))), 'the CPU target does not')
  t.equal(packageJson.allowScripts?.['onnxruntime-node'], false, 'npm ci does not run it (package.json allowScripts)')
  t.match(readRepoFile('.npmrc'), /^ignore-scripts=true$/m, 'nor npm 10 (.npmrc: no dependency install script runs)')
})

t.test('the install script, as the GPU stage runs it, installs the CUDA provider where the service looks for it', async (t) => {
  const require = createRequire(import.meta.url)
  const ortDir = dirname(require.resolve('onnxruntime-node/package.json'))
  const probe = `const u = require(${JSON.stringify(join(ortDir, 'script', 'install-utils.js'))});
    const m = require(${JSON.stringify(join(ortDir, 'script', 'install-metadata.js'))});
    console.log(JSON.stringify({ flag: u.parseInstallFlag() ?? null, linux: m.requirements['linux/x64'], files: Object.keys(m.manifests['linux/x64:cuda12'] ?? {}) }))`
  const base = { PATH: process.env.PATH }
  // Left to itself the script would download the CUDA provider (no flag: it installs what linux/x64 requires), so
  // npm ci must not run it: npm reads ignore-scripts=true from the project's .npmrc, and says nothing about it.
  const unflagged = await run(process.execPath, ['-e', probe], { env: base })
  t.equal(JSON.parse(unflagged.stdout).flag, null, 'without a flag the script installs the platform\'s requirements')
  const npmConfig = await run('npm', ['config', 'get', 'ignore-scripts'], { cwd: repoPath('.') })
  t.equal(npmConfig.stdout.trim(), 'true', 'npm ci in this project runs no install script')
  t.notMatch(npmConfig.stderr, /warn/i, 'and npm warns about none of the project\'s settings')
  // The GPU stage runs the script itself, with the flag.
  const gpu = await run(process.execPath, ['-e', probe], { env: { ...base, ONNXRUNTIME_NODE_INSTALL: 'cuda12' } })
  const result = JSON.parse(gpu.stdout) as { flag: unknown, linux: string[], files: string[] }
  t.not(result.flag, false, 'ONNXRUNTIME_NODE_INSTALL=cuda12 is not a skip (the script then installs linux/x64\'s requirements)')
  t.ok(result.linux.includes('cuda12'), 'cuda12 is the linux/x64 manifest')
  t.ok(result.files.includes('./libonnxruntime_providers_cuda.so'), 'it installs libonnxruntime_providers_cuda.so into bin/napi-v6/linux/x64')
  t.match(readRepoFile('src/inference/onnx-session.ts'), /'bin', 'napi-v6', process\.platform, process\.arch, 'libonnxruntime_providers_cuda\.so'/,
    'where `auto` looks for the CUDA provider')
})

/** Bare module specifiers a TypeScript file imports at run time (type-only imports are erased by tsc). */
function runtimeImports (file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !(node.importClause?.isTypeOnly ?? false) && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) found.push(node.arguments[0].text)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found.filter((s) => !s.startsWith('.'))
}

const tsFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
  .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))

t.test('nothing the image runs imports a dev dependency (they are pruned)', async (t) => {
  const files = [...tsFiles(repoPath('src')), repoPath('scripts/pull-model.ts'), repoPath('scripts/make-synthetic-model.ts')]
  t.ok(files.length > 20)
  const builtins = new Set(builtinModules)
  for (const file of files) {
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]
      t.ok(name in packageJson.dependencies, `${file.slice(repoPath().length)} imports ${name}, a production dependency`)
    }
  }
  // tsx only loads the worker threads (inference, post-processing) from .ts sources; compiled, each worker-main.js
  // sits beside the module that starts it.
  const mentionsTsx = tsFiles(repoPath('src')).filter((f) => /['"(]tsx[/'"]/.test(readFileSync(f, 'utf8')))
  t.same(mentionsTsx.map((f) => f.slice(repoPath().length)), ['src/inference/spawn-worker.ts'])
  t.ok(existsSync(repoPath('src/inference/ort-worker/worker-main.ts')), 'the worker compiles to dist/src/inference/ort-worker/worker-main.js')
  t.ok(existsSync(repoPath('src/inference/post-pool/worker-main.ts')), 'the pool compiles to dist/src/inference/post-pool/worker-main.js')
})

t.test('src holds only TypeScript: the image ships dist/, and tsc copies no other file there', async (t) => {
  const others = readdirSync(repoPath('src'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.ts'))
    .map((e) => e.name)
  t.same(others, [])
})

t.test('.dockerignore keeps local artefacts out of the context and lets the build inputs in', async (t) => {
  const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const entry of ['node_modules', 'dist', 'models', 'bench-results', '.tap', '.git']) t.ok(ignored.includes(entry), `${entry} ignored`)
  const inputs = stages.flatMap((s) => all(s, 'COPY')).filter((c) => !c.includes('--from')).flatMap((c) => c.split(/\s+/).slice(0, -1))
  t.ok(inputs.includes('package-lock.json') && inputs.includes('.npmrc') && inputs.includes('src'))
  for (const input of inputs) {
    t.ok(existsSync(repoPath(input)), `${input} exists`)
    t.notOk(ignored.some((pattern) => pattern === input || input.startsWith(`${pattern}/`)), `${input} is not ignored`)
  }
})

t.test('the HEALTHCHECK command passes on a ready service and fails on one that is not', async (t) => {
  const command = JSON.parse((last(stage('cpu'), 'HEALTHCHECK') ?? '').replace(/^.*?CMD\s+/, '')) as string[]
  t.equal(command[0], 'node')
  const app = await buildApp(loadConfig({ MODEL: syntheticModel({ preset: 'tiny' }), LOG_LEVEL: 'silent' }), { logger: false })
  t.teardown(async () => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.modelHost.loaded
  const ready = await run(process.execPath, command.slice(1), { env: { PATH: process.env.PATH, PORT: String((app.server.address() as AddressInfo).port) }, timeoutMs: 10_000 })
  t.equal(ready.code, 0, `ready service: ${ready.stderr}`)

  const notReady = createServer((_request, response) => { response.writeHead(503).end() })
  t.teardown(() => { notReady.close() })
  await new Promise<void>((resolve) => notReady.listen(0, '127.0.0.1', resolve))
  const refused = await run(process.execPath, command.slice(1), { env: { PATH: process.env.PATH, PORT: String((notReady.address() as AddressInfo).port) }, timeoutMs: 10_000 })
  t.equal(refused.code, 1, 'a 503 fails the check')
})

/** dockerfile-utils (the Docker language server's validator) with every optional check raised to an error. */
const strict: ValidatorSettings = Object.fromEntries(['deprecatedMaintainer', 'directiveCasing', 'emptyContinuationLine', 'instructionCasing',
  'instructionCmdMultiple', 'instructionEntrypointMultiple', 'instructionHealthcheckMultiple', 'instructionJSONInSingleQuotes',
  'instructionWorkdirRelative'].map((name) => [name, ValidationSeverity.ERROR]))

t.test('the Dockerfile validator finds no problem (instructions, flags, durations, arguments)', async (t) => {
  const problems = validate(readRepoFile('Dockerfile'), strict).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)
  t.same(problems, [])
})

t.test('the Dockerfile validator is live: it flags a broken copy', async (t) => {
  const broken = readRepoFile('Dockerfile').replace('--interval=15s', '--interval=15x').replace('FROM build AS gpu-deps', 'FORM build AS gpu-deps')
  t.equal(validate(broken, strict).length, 2)
})

const hadolint = hasTool('hadolint')
t.test('hadolint finds nothing at warning level or above', { skip: hadolint ? false : 'hadolint not found (not packaged in Debian): get the static binary from https://github.com/hadolint/hadolint/releases, or run `docker run --rm -i hadolint/hadolint < Dockerfile`' }, async (t) => {
  const result = await run('hadolint', ['--failure-threshold', 'warning', repoPath('Dockerfile')])
  t.equal(result.code, 0, result.stdout + result.stderr)
})
