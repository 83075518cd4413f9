import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ModelFolderError } from './model-folder-error.js'

/**
 * MODEL names a folder (a path, or a name under MODELS_DIR); without it the first folder under MODELS_DIR
 * that holds a config.json serves. Undefined means there is none: the caller decides what to do about it.
 */
export function findModelFolder (model: string | undefined, modelsDir: string): string | undefined {
  if (model !== undefined) {
    const candidates = [resolve(model), join(modelsDir, model)]
    const found = candidates.find((dir) => existsSync(join(dir, 'config.json')))
    if (found !== undefined) return found
    throw new ModelFolderError(`MODEL=${model}: no model folder with a config.json at ${candidates.join(' or ')}`)
  }
  if (!existsSync(modelsDir)) return undefined
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(modelsDir, entry.name))
    .sort()
    .find((dir) => existsSync(join(dir, 'config.json')))
}
