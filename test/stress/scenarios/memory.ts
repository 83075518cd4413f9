import { readFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gc: (() => void) | undefined

/**
 * A full collection, so that heap figures compare live objects rather than garbage not yet collected. Node hides
 * gc() without --expose-gc; the flag can still be set at run time and the function read from a fresh context.
 */
export function collectGarbage (): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
}

export interface MemorySample {
  rss: number
  heapUsed: number
}

/** This process's memory after a full collection, in bytes. */
export function sampleMemory (): MemorySample {
  collectGarbage()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

/** Resident memory of another process (VmRSS), in bytes. */
export function processRss (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  if (line === undefined) throw new Error(`no VmRSS for process ${pid}`)
  return Number(line.split(/\s+/)[1]) * 1024
}
