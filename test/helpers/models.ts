import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeSyntheticModel, type SyntheticModelOptions } from '../../src/synthetic/synthetic-model.js'

/**
 * A synthetic model folder for tests, written once per option set and process into the temp folder
 * (tiny models take milliseconds; the cache only spares repeated writes within one test file).
 */
const made = new Map<string, string>()

export function syntheticModel (options: SyntheticModelOptions = {}): string {
  const key = JSON.stringify(options)
  const cached = made.get(key)
  if (cached !== undefined) return cached
  const dir = join(tmpdir(), 'dinov3-serve-tests', `${process.pid}-${made.size}`)
  // A folder left by an earlier process with the same pid (pids come round again) may hold other files, heads
  // among them, that this model's options do not write: it starts empty.
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeSyntheticModel(dir, options)
  made.set(key, dir)
  return dir
}

/** A fresh empty folder, removed when the test ends (tap's testdir is one per test, not per call). */
export function scratchDir (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dinov3-serve-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
