import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BackbonePreset } from './backbone-spec.js'
import { writeSyntheticModel } from './synthetic-model.js'

/**
 * The model served when there is none: written once into the temp folder (not into MODELS_DIR, so that it never
 * passes for a real model there), made in a scratch folder and renamed, so concurrent starts cannot see half of it.
 */
export function syntheticFallbackModel (preset: BackbonePreset = 'small', seed = 0): string {
  const root = join(tmpdir(), 'dinov3-serve')
  const dir = join(root, `synthetic-${preset}-seed${seed}`)
  if (existsSync(join(dir, 'config.json'))) return dir
  mkdirSync(root, { recursive: true })
  const scratch = mkdtempSync(join(root, 'writing-'))
  try {
    writeSyntheticModel(scratch, { preset, seed, externalData: true, heads: true })
    try {
      renameSync(scratch, dir)
    } catch (error) {
      if (!existsSync(join(dir, 'config.json'))) throw error
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  return dir
}
