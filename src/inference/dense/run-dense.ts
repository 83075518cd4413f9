import type { Engine } from '../engine.js'
import type { DenseSize } from '../geometry.js'
import type { RequestContext } from '../stages.js'
import type { DenseImage } from './dense-image.js'
import { denseTiled } from './tiled.js'
import type { DenseTarget } from './targets.js'
import { denseUntiled } from './untiled.js'
import type { Tiling } from './window-plan.js'

/** A dense request runs either once per image (scaled to the cap) or by sliding windows at native resolution. */
export type DenseMode = { kind: 'whole', size: DenseSize } | { kind: 'tiled', tiling: Tiling }

export async function runDense (engine: Engine, images: Buffer[], mode: DenseMode, targets: DenseTarget[], context: RequestContext): Promise<DenseImage[]> {
  if (mode.kind === 'whole') return denseUntiled(engine, images, mode.size, targets, context)
  // One image at a time: its windows already fill the batches, and memory stays that of one image.
  const results: DenseImage[] = []
  for (const bytes of images) results.push(await denseTiled(engine, bytes, mode.tiling, targets, context))
  return results
}
