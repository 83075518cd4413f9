import { encodeNpyParts } from '../../image/npy.js'
import type { Engine } from '../engine.js'
import type { DenseSize } from '../geometry.js'
import type { RequestContext } from '../stages.js'
import { poolTokens, type Pooling } from '../tokens.js'

export interface EmbedOptions {
  pooling: Pooling
  normalize: boolean
  /** `processor`: the model's own resize (the default); otherwise the dense pass, as /analyze uses. */
  size: { kind: 'processor' } | DenseSize
  format: 'json' | 'npy'
}

export interface EmbedAnswer {
  dim: number
  embeddings: Float32Array[]
  /** npy: float32 [C] for one image, [N, C] for several. */
  npy?: Buffer
}

/** One embedding per image, in upload order; the images enter the queue together, so they can share a batch. */
export async function embed (engine: Engine, images: Buffer[], options: EmbedOptions, context: RequestContext): Promise<EmbedAnswer> {
  const { size } = options
  const encoded = await engine.encodeImages(images, async (bytes) => {
    const prepared = size.kind === 'processor' ? await engine.prepareForEmbedding(bytes, context) : await engine.prepareDense(bytes, size, context)
    // Pooling reads tokens only: a lone image's tensor can run as it is, without a copy.
    prepared.input.handOver = true
    return prepared
  }, context)
  const embeddings = await context.times.time('postprocess', () => encoded.map((e) => {
    const vector = poolTokens(e.output, engine.backbone.registers, options.pooling, options.normalize)
    // The vector is a copy: the batch's output memory can serve the next batch.
    e.output.release?.()
    return vector
  }))
  const dim = embeddings[0].length
  if (options.format === 'json') return { dim, embeddings }
  const shape = embeddings.length === 1 ? [dim] : [embeddings.length, dim]
  return { dim, embeddings, npy: encodeNpyParts(embeddings, shape) }
}
