import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ServiceError } from '../errors.js'
import type { GraphBuilder } from '../synthetic/onnx-builder.js'
import { writeOnnx } from '../synthetic/write-onnx.js'
import type { FittedHeadJson } from './types.js'

/**
 * Writes headsDir/<name>/{head.json, model.onnx} into a hidden scratch folder beside it, then renames it into place:
 * a reader (the registry, a restart) sees the whole head or none of it.
 */
/** Checked before a fit starts (and again when it ends): a name in use is never overwritten. */
export function refuseExisting (headsDir: string, name: string): void {
  if (existsSync(join(headsDir, name))) throw new ServiceError('bad_request', `a head named "${name}" already exists in ${headsDir}; delete it first or choose another name`)
}

export function writeHead (headsDir: string, name: string, graph: GraphBuilder, headJson: FittedHeadJson): string {
  mkdirSync(headsDir, { recursive: true })
  const dir = join(headsDir, name)
  refuseExisting(headsDir, name)
  const scratch = mkdtempSync(join(headsDir, `.${name}.writing-`))
  try {
    writeOnnx(graph, join(scratch, 'model.onnx'), false)
    writeFileSync(join(scratch, 'head.json'), JSON.stringify(headJson, null, 2) + '\n')
    renameSync(scratch, dir)
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true })
    if (existsSync(dir)) throw new ServiceError('bad_request', `a head named "${name}" appeared in ${headsDir} while this one was being written`)
    throw error
  }
  return dir
}
