import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import { encodeNpy } from '../image/npy.js'
import { encodeRgb8 } from '../image/png.js'
import { featurePicture } from '../inference/feature-picture.js'
import type { DenseImage } from '../inference/dense/dense-image.js'
import { featureMaps } from '../inference/tasks/features.js'
import { parseRasterOptions } from '../image/geotiff/raster-options.js'
import { pcaTiff } from '../inference/tasks/geotiff-output.js'
import { denseQueryProperties, parseDenseMode } from './dense-params.js'
import { rasterQueryProperties, sendTiff } from './raster-params.js'
import { describeGeometry } from './geometry-headers.js'
import { errorResponses, imageErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { denseHeaders } from './response-headers.js'
import { answer, StringEnum } from './schemas.js'

const FeaturesQuery = Type.Object({
  format: Type.Optional(StringEnum(['npy', 'json', 'png', 'tiff'], {
    default: 'npy',
    description: 'npy: float32 [C, h, w] ([N, C, h, w] for several images); json: the same with shapes; ' +
      'png: the first three PCA components as RGB at the input\'s size (one image); ' +
      'tiff: the same picture as a tiled GeoTIFF with the input\'s georeferencing, RGB plus alpha (0 where the input is nodata)',
    examples: ['npy', 'json', 'png', 'tiff']
  })),
  ...denseQueryProperties,
  ...rasterQueryProperties
}, { additionalProperties: false })

const FeatureJson = Type.Object({
  model: Type.String({ description: 'The model folder\'s name' }),
  images: Type.Array(Type.Object({
    shape: Type.Array(Type.Integer(), { description: '[C, h, w]: channels, patch rows, patch columns' }),
    input: Type.Object({ width: Type.Integer(), height: Type.Integer() }, { description: 'The decoded image' }),
    model_input: Type.Object({ width: Type.Integer(), height: Type.Integer(), padding_right: Type.Integer(), padding_bottom: Type.Integer() }, {
      description: 'What the backbone ran on: the image scaled to the size asked, padded right and bottom to the patch grid'
    }),
    features: Type.Array(Type.Number(), { description: 'Row-major [C, h, w]' })
  }), { description: 'One per image, in upload order' })
})

/** A 683×512 photo on a ViT-S/16: a 32×43 grid of 384 channels, its 528384 values shortened to six. */
const featureExample = {
  model: 'dinov3-vits16-pretrain-lvd1689m-ONNX',
  images: [{
    shape: [384, 32, 43],
    input: { width: 683, height: 512 },
    model_input: { width: 688, height: 512, padding_right: 5, padding_bottom: 0 },
    features: [0.7786, 0.73, 1.2214, 0.1922, 0.7298, -0.2228]
  }]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/features', {
    schema: {
      summary: 'Dense patch feature map',
      description: 'The patch tokens as a [C, h, w] map over the padded input (h = ceil(H/patch), w = ceil(W/patch)). ' +
        'Headers x-patch-grid, x-input-size and x-model-input-size say how the grid maps onto the image.',
      tags: ['backbone'],
      requestBody: imageRequestBody,
      querystring: FeaturesQuery,
      response: {
        200: answer({
          description: 'The feature map of each image',
          headers: denseHeaders,
          json: { schema: FeatureJson, example: featureExample },
          binary: {
            'application/x-npy': 'format=npy (the default): float32 [C, h, w], or [N, C, h, w] for several images of one grid (NumPy .npy, version 1.0)',
            'image/png': 'format=png: the first three PCA components of the features as an 8-bit RGB picture at the input\'s size, one image',
            'image/tiff': 'format=tiff: the same picture as a tiled, deflated GeoTIFF with the input\'s CRS and geotransform, ' +
              '8-bit RGB plus an alpha band that is 0 where the input is nodata. One image'
          }
        }),
        ...errorResponses(imageErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { format = 'npy', bands, stretch, ...dense } = request.query
    const raster = parseRasterOptions({ bands, stretch })
    const images = await request.images()
    if ((format === 'png' || format === 'tiff') && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use npy or json for a batch`)
    const admitted = request.admit(reply, { tiled: dense.tile !== undefined })
    const mode = parseDenseMode(dense, admitted.engine)
    const results = await admitted.run((engine, context) => featureMaps(engine, images, mode, { ...context, raster }))
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
    if (format === 'tiff') return sendTiff(reply, await admitted.context.times.time('postprocess', () => pcaTiff(results[0], results[0].maps[0])))
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
