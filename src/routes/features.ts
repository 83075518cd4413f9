import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import { encodeNpy } from '../image/npy.js'
import { encodeRgb8 } from '../image/png.js'
import { featurePicture } from '../inference/feature-picture.js'
import type { DenseImage } from '../inference/dense/dense-image.js'
import { featureMaps } from '../inference/tasks/features.js'
import { denseQueryProperties, parseDenseMode } from './dense-params.js'
import { describeGeometry } from './geometry-headers.js'
import { formatsResponse, imageConsumes, imageErrorResponses } from './schemas.js'

const FeaturesQuery = Type.Object({
  format: Type.Optional(Type.Enum(['npy', 'json', 'png'], {
    default: 'npy',
    description: 'npy: float32 [C, h, w] ([N, C, h, w] for several images); json: the same with shapes; ' +
      'png: the first three PCA components as RGB at the input\'s size (one image)'
  })),
  ...denseQueryProperties
}, { additionalProperties: false })

const FeatureJson = Type.Object({
  model: Type.String(),
  images: Type.Array(Type.Object({
    shape: Type.Array(Type.Integer(), { description: '[C, h, w]' }),
    input: Type.Object({ width: Type.Integer(), height: Type.Integer() }),
    model_input: Type.Object({ width: Type.Integer(), height: Type.Integer(), padding_right: Type.Integer(), padding_bottom: Type.Integer() }),
    features: Type.Array(Type.Number(), { description: 'Row-major [C, h, w]' })
  }))
})

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/features', {
    schema: {
      summary: 'Dense patch feature map',
      description: 'The patch tokens as a [C, h, w] map over the padded input (h = ceil(H/patch), w = ceil(W/patch)). ' +
        'Headers x-patch-grid, x-input-size and x-model-input-size say how the grid maps onto the image.',
      tags: ['backbone'],
      consumes: imageConsumes,
      querystring: FeaturesQuery,
      response: {
        200: formatsResponse('The feature map of each image', FeatureJson, {
          'application/x-npy': 'float32 [C, h, w], or [N, C, h, w] for several images',
          'image/png': 'The first three PCA components as RGB, at the input\'s size'
        }),
        ...imageErrorResponses()
      }
    }
  }, async (request, reply) => {
    const { format = 'npy', ...dense } = request.query
    const images = await request.images()
    if (format === 'png' && images.length > 1) throw badRequest('format=png answers one image; send one file, or use npy or json for a batch')
    const admitted = request.admit(reply, { tiled: dense.tile !== undefined })
    const mode = parseDenseMode(dense, admitted.engine)
    const results = await admitted.run((engine, context) => featureMaps(engine, images, mode, context))
    const patch = admitted.engine.patchSize
    for (const [header, value] of Object.entries(describeGeometry(results[0], patch))) reply.header(header, value)

    if (format === 'json') {
      return {
        model: admitted.engine.folder.name,
        images: results.map(({ maps: [map], geometry }) => ({
          shape: [map.planes, map.height, map.width],
          input: geometry.original,
          model_input: {
            ...geometry.padded,
            padding_right: geometry.padded.width - geometry.content.width,
            padding_bottom: geometry.padded.height - geometry.content.height
          },
          features: Array.from(map.data)
        }))
      }
    }
    if (format === 'png') {
      const picture = await admitted.context.times.time('postprocess', () => featurePicture(results[0].maps[0], results[0].geometry))
      return reply.type('image/png').send(encodeRgb8(picture.rgb, picture.width, picture.height))
    }
    return reply.type('application/x-npy').send(stackedNpy(results))
  })
}

function stackedNpy (results: DenseImage[]): Buffer {
  const [first] = results[0].maps
  const shape = [first.planes, first.height, first.width]
  if (results.length === 1) return encodeNpy(first.data, shape)
  if (results.some(({ maps: [m] }) => m.height !== shape[1] || m.width !== shape[2])) {
    throw badRequest('the images give patch grids of different sizes, which one .npy cannot stack; ' +
      'send them separately, use format=json, or set size so they match')
  }
  const size = first.data.length
  const stacked = new Float32Array(results.length * size)
  results.forEach(({ maps: [m] }, i) => stacked.set(m.data, i * size))
  return encodeNpy(stacked, [results.length, ...shape])
}

export default route
