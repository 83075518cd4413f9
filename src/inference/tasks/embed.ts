import type { Engine } from '../engine.js'
import type { DenseSize } from '../geometry.js'
import type { RequestContext } from '../stages.js'
import { poolTokens, type Pooling } from '../tokens.js'

export interface EmbedOptions {
  pooling: Pooling
  normalize: boolean
  /** `processor`: the model's own resize (the default); otherwise the dense pass, as /analyze uses. */
  size: { kind: 'processor' } | DenseSize
}

/** One embedding per image, in upload order; the images enter the queue together, so they can share a batch. */
export async function embedImages (engine: Engine, images: Buffer[], options: EmbedOptions, context: RequestContext): Promise<Float32Array[]> {
  const { size } = options
  const encoded = await engine.encodeImages(images, async (bytes) => size.kind === 'processor'
    ? engine.prepareForEmbedding(bytes, context)
    : engine.prepareDense(bytes, size, context), context)
  return context.times.time('postprocess', () =>
    encoded.map((e) => poolTokens(e.output, engine.backbone.registers, options.pooling, options.normalize)))
}
