import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import { analyze, parseTasks, type AnalyzeOptions } from '../inference/tasks/analyze.js'
import { denseQueryProperties, parseDenseMode } from './dense-params.js'
import { errorResponses, headErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { inferenceHeaders } from './response-headers.js'
import { readSpacedPool } from './pool-alias.js'
import { answer, StringEnum } from './schemas.js'
import { ClassSummary, classesExample } from './segment.js'

const AnalyzeQuery = Type.Object({
  tasks: Type.Optional(Type.String({
    pattern: '^[a-z]+(,[a-z]+)*$',
    default: 'embed,segment,depth',
    description: 'Any of embed, segment, depth, comma-separated: all from ONE backbone pass per image. ' +
      'embed cannot be combined with tile (tiles have no single CLS token)',
    examples: ['embed,segment,depth', 'segment,depth']
  })),
  pool: Type.Optional(StringEnum(['cls', 'mean', 'cls+mean'], {
    default: 'cls',
    description: 'embed: CLS token, mean of the patch tokens (registers excluded), or both concatenated (a bare + in a URL reads as a space: "cls mean" is accepted as cls+mean)',
    examples: ['cls', 'mean']
  })),
  normalize: Type.Optional(Type.Boolean({ default: false, description: 'embed: L2-normalise the embedding', examples: [false, true] })),
  segment_head: Type.Optional(Type.String({ description: 'Segmentation head (see GET /models); the only one is the default. Example: segment_head=ade20k' })),
  depth_head: Type.Optional(Type.String({ description: 'Depth head (see GET /models); the only one is the default. Example: depth_head=nyu' })),
  ...denseQueryProperties
}, { additionalProperties: false })

const AnalyzeResponse = Type.Object({
  model: Type.String({ description: 'The model folder\'s name' }),
  tasks: Type.Array(Type.String(), { description: 'The tasks run, in the order asked' }),
  images: Type.Array(Type.Object({
    width: Type.Integer(),
    height: Type.Integer(),
    embedding: Type.Optional(Type.Object({
      pool: Type.String(),
      normalized: Type.Boolean(),
      dim: Type.Integer(),
      vector: Type.Array(Type.Number(), { description: 'Pooled from the dense pass: equal to /embed?size=<same size>' })
    })),
    segmentation: Type.Optional(Type.Object({
      head: Type.String(),
      labels: Type.Array(Type.String()),
      classes: Type.Array(ClassSummary),
      mask_png: Type.String({ description: 'Base64 label PNG at the input\'s size, as /segment?format=png' })
    })),
    depth: Type.Optional(Type.Object({
      head: Type.String(),
      unit: Type.String(),
      min: Type.Number(),
      max: Type.Number(),
      mean: Type.Number(),
      scale: Type.Number({ description: 'depth = offset + scale · pixel of png16' }),
      offset: Type.Number(),
      png16: Type.String({ description: 'Base64 16-bit depth PNG at the input\'s size, as /depth?format=png' })
    }))
  }), { description: 'One per image, in upload order' })
})

/** One 683×512 photo, every task; the vector and the base64 PNGs shortened. */
const analyzeExample = {
  model: 'dinov3-vits16-pretrain-lvd1689m-ONNX',
  tasks: ['embed', 'segment', 'depth'],
  images: [{
    width: 683,
    height: 512,
    embedding: { pool: 'cls', normalized: false, dim: 384, vector: [-0.6172, 0.9104, 0.4285, 0.9023, -0.2242] },
    segmentation: { head: 'ade20k', labels: ['wall', 'building', 'sky', 'floor'], classes: classesExample, mask_png: 'iVBORw0KGgoAAAANSUhEUgAAAqsAAAIACAAAAAB…' },
    depth: { head: 'nyu', unit: 'm', min: 0.9552, max: 7.8125, mean: 3.2071, scale: 0.00010463, offset: 0.9552, png16: 'iVBORw0KGgoAAAANSUhEUgAAAqsAAAIAEAAAAAB…' }
  }]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/analyze', {
    config: { admits: true },
    preValidation: readSpacedPool,
    schema: {
      summary: 'Several tasks from one backbone pass',
      description: 'Runs the backbone once per image (dense pass: aspect kept, capped or tiled) and feeds every requested ' +
        'head from it; the embedding is pooled from the same tokens. Each answer equals its separate endpoint\'s.',
      tags: ['heads'],
      requestBody: imageRequestBody,
      querystring: AnalyzeQuery,
      response: {
        200: answer({
          description: 'Every task\'s answer for each image',
          headers: inferenceHeaders,
          json: { schema: AnalyzeResponse, example: analyzeExample }
        }),
        ...errorResponses(headErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { tasks: taskList = 'embed,segment,depth', pool = 'cls', normalize = false, segment_head: segmentName, depth_head: depthName, ...dense } = request.query
    const asked = parseTasks(taskList)
    if (asked.includes('embed') && dense.tile !== undefined) {
      throw badRequest('embed is one vector from one pass over the whole image, and tiles have no single CLS token; drop tile or the embed task')
    }
    const engine = app.modelHost.require()
    const heads: AnalyzeOptions['heads'] = {}
    if (asked.includes('segment')) heads.segment = engine.heads.pick('segmentation', segmentName)
    if (asked.includes('depth')) heads.depth = engine.heads.pick('depth', depthName)
    const mode = parseDenseMode(dense, engine)
    const images = await request.images()
    const admitted = request.admit(reply, { tiled: mode.kind === 'tiled' })
    const answers = await admitted.run((engine, context) => analyze(engine, images, { tasks: asked, pooling: pool, normalize, heads, mode }, context))
    return { model: engine.folder.name, tasks: asked, images: answers }
  })
}

export default route
