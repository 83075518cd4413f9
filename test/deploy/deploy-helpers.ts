import { execFile, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

/** The repository root: deployment files are read from there whatever the working directory. */
export const root = fileURLToPath(new URL('../../', import.meta.url))

export const repoPath = (...parts: string[]): string => join(root, ...parts)

export const readRepoFile = (...parts: string[]): string => readFileSync(repoPath(...parts), 'utf8')

/** YAML as compose and Prometheus read it: merge keys (`<<: *anchor`) applied. */
export const readYaml = (...parts: string[]): any => parseYaml(readRepoFile(...parts), { merge: true })

/** Whether a command line tool answers; tests that need it skip with how to get it otherwise. */
export function hasTool (command: string, args: string[] = ['--version']): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 })
  return result.error === undefined && result.status === 0
}

/** A tool's version line, or undefined when it is missing. */
export function toolVersion (command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 })
  if (result.error !== undefined || result.status !== 0) return undefined
  return `${result.stdout}${result.stderr}`
}

export interface RunResult { code: number, stdout: string, stderr: string }

/** Runs a tool without blocking the event loop (a server in the same test may have to answer it), with a deadline. */
export function run (command: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd ?? root, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, stdout, stderr })
      })
  })
}

/** A metric selector found in a PromQL expression: the metric name and the label names its matchers use. */
export interface Selector { metric: string, labels: string[] }

export interface PromqlReferences { selectors: Selector[], groupingLabels: string[] }

const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])
const groupingKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
/** Aggregation operators: like functions, but `sum by (job) (x)` puts the grouping between name and parenthesis. */
const aggregations = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk',
  'quantile', 'limitk', 'limit_ratio'])

/**
 * The metrics and labels a PromQL expression refers to. A small lexer, enough for the expressions in this
 * repository: strings are skipped, ranges `[5m]` and Grafana's `$variables` too; an identifier followed by `(` is a
 * function (so is an aggregation operator); identifiers in `by (...)`, `on (...)` and the like are grouping labels; the rest are metric names.
 */
export function promqlReferences (expr: string): PromqlReferences {
  const selectors: Selector[] = []
  const groupingLabels: string[] = []
  let i = 0
  const skipSpace = (): void => { while (i < expr.length && /\s/.test(expr[i])) i++ }
  const identifier = (): string => {
    const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))
    if (match === null) return ''
    i += match[0].length
    return match[0]
  }
  const skipString = (): void => {
    const quote = expr[i++]
    while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' ? 2 : 1
    i++
  }
  const matcherLabels = (): string[] => {
    // At `{`: label names of `name op "value"` pairs up to the closing brace.
    const labels: string[] = []
    i++
    while (i < expr.length && expr[i] !== '}') {
      skipSpace()
      if (expr[i] === '"' || expr[i] === "'" || expr[i] === '`') { skipString(); continue }
      const name = identifier()
      if (name !== '') { labels.push(name); continue }
      i++
    }
    i++
    return labels
  }
  while (i < expr.length) {
    const c = expr[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '"' || c === "'" || c === '`') { skipString(); continue }
    if (c === '[') { while (i < expr.length && expr[i] !== ']') i++; i++; continue }
    if (c === '$') { i++; if (expr[i] === '{') { while (i < expr.length && expr[i] !== '}') i++; i++ } else identifier(); continue }
    if (/[0-9.]/.test(c)) { while (i < expr.length && /[0-9a-zA-Z_.]/.test(expr[i])) i++; continue }
    if (c === '{') { selectors.push({ metric: '', labels: matcherLabels() }); continue }
    const name = identifier()
    if (name === '') { i++; continue }
    skipSpace()
    if (groupingKeywords.has(name.toLowerCase()) && expr[i] === '(') {
      const end = expr.indexOf(')', i)
      groupingLabels.push(...expr.slice(i + 1, end).split(',').map((l) => l.trim()).filter((l) => l !== ''))
      i = end + 1
      continue
    }
    if (expr[i] === '(' || keywords.has(name.toLowerCase()) || aggregations.has(name.toLowerCase())) continue
    selectors.push({ metric: name, labels: expr[i] === '{' ? matcherLabels() : [] })
  }
  return { selectors, groupingLabels }
}

/** Sample names of a Prometheus text exposition, each with the label names it was seen with. */
export function exposedSamples (text: string): Map<string, Set<string>> {
  const samples = new Map<string, Set<string>>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]
    if (name === undefined) continue
    const labels = samples.get(name) ?? new Set<string>()
    const braces = /^[^{ ]*\{(.*)\}/.exec(line)?.[1] ?? ''
    for (const match of braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(match[1])
    samples.set(name, labels)
  }
  return samples
}

/** Labels Prometheus attaches to every scraped series. */
export const targetLabels = ['job', 'instance']

/** Every problem with an expression's references against the exposition: unknown metrics, unknown labels. */
export function unknownReferences (expr: string, samples: Map<string, Set<string>>): string[] {
  const problems: string[] = []
  const { selectors, groupingLabels } = promqlReferences(expr)
  const known = new Set<string>(targetLabels)
  for (const { metric, labels } of selectors) {
    if (metric === '') { problems.push(`a selector without a metric name in ${expr}`); continue }
    if (metric === 'up') continue
    const exposed = samples.get(metric)
    if (exposed === undefined) { problems.push(`metric ${metric} is not exported by the service`); continue }
    for (const label of exposed) known.add(label)
    for (const label of labels) {
      if (!exposed.has(label) && !targetLabels.includes(label)) problems.push(`${metric} has no label ${label}`)
    }
  }
  if (selectors.some((s) => s.metric === 'up')) known.add('job')
  for (const label of groupingLabels) {
    if (!known.has(label)) problems.push(`grouping label ${label} is on none of the metrics in ${expr}`)
  }
  return problems
}
