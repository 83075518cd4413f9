import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { parseRasterOptions } from '../image/geotiff/raster-options.js'
import { depth } from '../inference/tasks/depth.js'
import { denseQueryProperties, parseDenseMode } from './dense-params.js'
import { rasterQueryProperties, sendTiff } from './raster-params.js'
import { describeGeometry } from './geometry-headers.js'
import { errorResponses, headErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { depthHeaders } from './response-headers.js'
import { answer, StringEnum } from './schemas.js'

const DepthQuery = Type.Object({
  format: Type.Optional(StringEnum(['npy', 'png', 'color', 'tiff'], {
    default: 'npy',
    description: 'npy: float32 [H, W] at the input\'s size ([N, H, W] for several images of one size); ' +
      'png: 16-bit, depth = x-depth-offset + x-depth-scale · value (also in the PNG\'s text chunks); color: turbo colour map; ' +
      'tiff: a tiled float32 GeoTIFF with the input\'s georeferencing, nodata NaN',
    examples: ['npy', 'png', 'color', 'tiff']
  })),
  head: Type.Optional(Type.String({
    description: 'Depth head name (see GET /models); the only depth head is the default, and several need a choice. ' +
      'Example: head=nyu'
  })),
  ...denseQueryProperties,
  ...rasterQueryProperties
}, { additionalProperties: false })

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/depth', {
    config: { admits: true },
    schema: {
      summary: 'Depth map from a depth head',
      description: 'The head\'s output is resampled bilinearly to the input\'s size. x-depth-min, x-depth-max and x-depth-unit describe it.',
      tags: ['heads'],
      requestBody: imageRequestBody,
      querystring: DepthQuery,
      response: {
        200: answer({
          description: 'The depth of each image, at its size',
          headers: depthHeaders,
          binary: {
            'application/x-npy': 'format=npy (the default): float32 [H, W] in the head\'s unit, or [N, H, W] for several images of one size (NumPy .npy, version 1.0)',
            'image/png': 'format=png: 16-bit grey PNG, depth = x-depth-offset + x-depth-scale · value (also in its text chunks); ' +
              'format=color: 8-bit RGB picture, x-depth-min to x-depth-max along the turbo colour map. One image',
            'image/tiff': 'format=tiff: tiled, deflated float32 GeoTIFF at the input\'s size with its CRS and geotransform, ' +
              'in the head\'s unit (GDAL band unit), NaN (the nodata value) where the input is nodata. One image'
          }
        }),
        ...errorResponses(headErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { format = 'npy', head: headName, bands, stretch, ...dense } = request.query
    const raster = parseRasterOptions({ bands, stretch })
    const engine = app.modelHost.require()
    const head = engine.heads.pick('depth', headName)
    const mode = parseDenseMode(dense, engine)
    const images = await request.images()
    const admitted = request.admit(reply, { tiled: mode.kind === 'tiled' })
    const answer = await admitted.run((engine, context) => depth(engine, images, { head, mode, format, raster }, context))
    reply.headers({ 'x-head': head.name, 'x-depth-unit': answer.unit, ...describeGeometry(answer.geometry, engine.patchSize) })
    if (answer.tiff !== undefined) return sendTiff(reply, answer.tiff)
    reply.headers({ 'x-depth-min': String(answer.min), 'x-depth-max': String(answer.max) })
    if (answer.scale !== undefined) reply.headers({ 'x-depth-scale': String(answer.scale), 'x-depth-offset': String(answer.offset) })
    return reply.type(format === 'npy' ? 'application/x-npy' : 'image/png').send(answer.body)
  })
}

export default route
