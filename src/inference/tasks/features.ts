import type { DenseImage } from '../dense/dense-image.js'
import { runDense, type DenseMode } from '../dense/run-dense.js'
import { featuresTarget } from '../dense/targets.js'
import type { Engine } from '../engine.js'
import type { RequestContext } from '../stages.js'

/** Dense feature maps [C, h, w] over each image's padded input (its patch grid), tiled or not. */
export async function featureMaps (engine: Engine, images: Buffer[], mode: DenseMode, context: RequestContext): Promise<DenseImage[]> {
  return runDense(engine, images, mode, [featuresTarget], context)
}
