import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { embed } from '../inference/tasks/embed.js'
import { parseDenseSize } from './parse-size.js'
import { errorResponses, imageErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { inferenceHeaders } from './response-headers.js'
import { readSpacedPool } from './pool-alias.js'
import { answer, StringEnum } from './schemas.js'

const EmbedQuery = Type.Object({
  pool: Type.Optional(StringEnum(['cls', 'mean', 'cls+mean'], {
    default: 'cls',
    description: 'CLS token, mean of the patch tokens (registers excluded), or both concatenated (2·C values). ' +
      'A bare + in a URL reads as a space; cls+mean arrives as "cls mean" and is accepted as such',
    examples: ['cls', 'mean', 'cls+mean']
  })),
  normalize: Type.Optional(Type.Boolean({ default: false, description: 'L2-normalise each embedding', examples: [false, true] })),
  format: Type.Optional(StringEnum(['json', 'npy'], {
    default: 'json',
    description: 'json: the vectors in a JSON document; npy: float32 [C] for one image, [N, C] for several',
    examples: ['json', 'npy']
  })),
  size: Type.Optional(Type.String({
    pattern: '^(processor|native|[0-9]{1,6})$',
    default: 'processor',
    description: '`processor` (default): the model\'s own resize from preprocessor_config.json. ' +
      '`native` or a long side in pixels: the aspect-keeping dense pass, the one /analyze pools its embedding from. Example: size=512',
    examples: ['processor', 'native']
  }))
}, { additionalProperties: false })

const EmbedResponse = Type.Object({
  model: Type.String({ description: 'The model folder\'s name' }),
  pool: Type.String({ description: 'The pooling used' }),
  normalized: Type.Boolean({ description: 'Whether the vectors are L2-normalised' }),
  dim: Type.Integer({ description: 'Length of each vector: the hidden size C, or 2·C for cls+mean' }),
  embeddings: Type.Array(Type.Array(Type.Number()), { description: 'One per image, in upload order' })
})

/** A real answer's shape, its vector shortened to five of its 384 values. */
const embedExample = {
  model: 'dinov3-vits16-pretrain-lvd1689m-ONNX',
  pool: 'cls',
  normalized: true,
  dim: 384,
  embeddings: [[0.0213, -0.0871, 0.0442, 0.1175, -0.0329]]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/embed', {
    config: { admits: true },
    preValidation: readSpacedPool,
    schema: {
      summary: 'Global embedding per image',
      description: 'Runs the backbone on each image (a batch for several multipart files) and pools its tokens.',
      tags: ['backbone'],
      requestBody: imageRequestBody,
      querystring: EmbedQuery,
      response: {
        200: answer({
          description: 'One embedding per image, in upload order',
          headers: inferenceHeaders,
          json: { schema: EmbedResponse, example: embedExample },
          binary: { 'application/x-npy': 'format=npy: float32 [C] for one image, [N, C] for several (NumPy .npy, version 1.0)' }
        }),
        ...errorResponses(imageErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { pool = 'cls', normalize = false, format = 'json', size = 'processor' } = request.query
    const engine = app.modelHost.require()
    const sizing = size === 'processor' ? { kind: 'processor' as const } : parseDenseSize(size, engine.patchSize, engine.denseMaxSide)
    const images = await request.images()
    const admitted = request.admit(reply)
    const answer = await admitted.run((engine, context) => embed(engine, images, { pooling: pool, normalize, size: sizing, format }, context))
    if (answer.npy !== undefined) return reply.type('application/x-npy').send(answer.npy)
    return { model: engine.folder.name, pool, normalized: normalize, dim: answer.dim, embeddings: answer.embeddings.map((e) => Array.from(e)) }
  })
}

export default route
