import { existsSync } from 'node:fs'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * A worker thread from a module beside its caller, named without extension (`new URL('./worker-main', import.meta.url)`).
 * Compiled, it is a .js file; from TypeScript sources (tests, tsx) it is loaded through tsx.
 */
export function spawnWorker (module: URL, options: WorkerOptions = {}): Worker {
  const compiled = new URL(`${module.href}.js`)
  if (existsSync(compiled)) return new Worker(compiled, options)
  const source = `${module.href}.ts`
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}) })`, { ...options, eval: true })
}
