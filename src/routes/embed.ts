import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { encodeNpy } from '../image/npy.js'
import { embedImages } from '../inference/tasks/embed.js'
import { parseDenseSize } from './parse-size.js'
import { formatsResponse, imageConsumes, imageErrorResponses } from './schemas.js'

const EmbedQuery = Type.Object({
  pool: Type.Optional(Type.Enum(['cls', 'mean', 'cls+mean'], {
    default: 'cls',
    description: 'CLS token, mean of the patch tokens (registers excluded), or both concatenated (2·C values)'
  })),
  normalize: Type.Optional(Type.Boolean({ default: false, description: 'L2-normalise each embedding' })),
  format: Type.Optional(Type.Enum(['json', 'npy'], { default: 'json', description: 'npy: float32 [C] for one image, [N, C] for several' })),
  size: Type.Optional(Type.String({
    pattern: '^(processor|native|[0-9]{1,6})$',
    default: 'processor',
    description: '`processor` (default): the model\'s own resize from preprocessor_config.json. ' +
      '`native` or a long side in pixels: the aspect-keeping dense pass, the one /analyze pools its embedding from'
  }))
}, { additionalProperties: false })

const EmbedResponse = Type.Object({
  model: Type.String(),
  pool: Type.String(),
  normalized: Type.Boolean(),
  dim: Type.Integer(),
  embeddings: Type.Array(Type.Array(Type.Number()), { description: 'One per image, in upload order' })
})

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/embed', {
    schema: {
      summary: 'Global embedding per image',
      description: 'Runs the backbone on each image (a batch for several multipart files) and pools its tokens.',
      tags: ['backbone'],
      consumes: imageConsumes,
      querystring: EmbedQuery,
      response: {
        200: formatsResponse('One embedding per image, in upload order', EmbedResponse, { 'application/x-npy': 'float32 [C] for one image, [N, C] for several' }),
        ...imageErrorResponses()
      }
    }
  }, async (request, reply) => {
    const { pool = 'cls', normalize = false, format = 'json', size = 'processor' } = request.query
    const images = await request.images()
    const admitted = request.admit(reply)
    const sizing = size === 'processor' ? { kind: 'processor' as const } : parseDenseSize(size, admitted.engine.patchSize, admitted.engine.denseMaxSide)
    const embeddings = await admitted.run((engine, context) =>
      embedImages(engine, images, { pooling: pool, normalize, size: sizing }, context))
    const dim = embeddings[0].length
    if (format === 'npy') {
      const flat = embeddings.length === 1 ? embeddings[0] : concatenate(embeddings)
      const shape = embeddings.length === 1 ? [dim] : [embeddings.length, dim]
      return reply.type('application/x-npy').send(encodeNpy(flat, shape))
    }
    return {
      model: admitted.engine.folder.name,
      pool,
      normalized: normalize,
      dim,
      embeddings: embeddings.map((e) => Array.from(e))
    }
  })
}

function concatenate (rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * rows[0].length)
  rows.forEach((row, i) => out.set(row, i * row.length))
  return out
}

export default route
