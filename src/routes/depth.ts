import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import { depthColourPng, depthPng16 } from '../image/depth-picture.js'
import { encodeNpy } from '../image/npy.js'
import { runDense } from '../inference/dense/run-dense.js'
import { headTarget } from '../inference/dense/targets.js'
import { depthMap } from '../inference/tasks/depth.js'
import { parseRasterOptions } from '../image/geotiff/raster-options.js'
import { depthTiff } from '../inference/tasks/geotiff-output.js'
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
    const images = await request.images()
    if (format !== 'npy' && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use format=npy for a batch`)
    const admitted = request.admit(reply, { tiled: dense.tile !== undefined })
    const head = admitted.engine.heads.pick('depth', headName)
    const unit = head.unit ?? 'relative'
    const mode = parseDenseMode(dense, admitted.engine)
    const results = await admitted.run((engine, context) => runDense(engine, images, mode, [headTarget(head)], { ...context, raster }))
    const { times } = admitted.context
    if (format === 'tiff') {
      for (const [header, value] of Object.entries(describeGeometry(results[0], admitted.engine.patchSize))) reply.header(header, value)
      return sendTiff(reply.header('x-head', head.name).header('x-depth-unit', unit),
        await times.time('postprocess', () => depthTiff(results[0], results[0].maps[0], unit)))
    }
    const maps = await times.time('postprocess', () => results.map((image) => depthMap(image, image.maps[0])))
    const [first] = maps
    reply.header('x-head', head.name).header('x-depth-unit', unit)
      .header('x-depth-min', String(first.min)).header('x-depth-max', String(first.max))
    for (const [header, value] of Object.entries(describeGeometry(results[0], admitted.engine.patchSize))) reply.header(header, value)

    if (format === 'png') {
      const { png, scale, offset } = await times.time('postprocess', () => depthPng16(first.values, first.width, first.height, first.min, first.max, unit))
      return reply.header('x-depth-scale', String(scale)).header('x-depth-offset', String(offset)).type('image/png').send(png)
    }
    if (format === 'color') {
      const png = await times.time('postprocess', () => depthColourPng(first.values, first.width, first.height, first.min, first.max))
      return reply.type('image/png').send(png)
    }
    if (maps.length === 1) return reply.type('application/x-npy').send(encodeNpy(first.values, [first.height, first.width]))
    if (maps.some((m) => m.width !== first.width || m.height !== first.height)) {
      throw badRequest('the images differ in size, which one .npy cannot stack; send them separately')
    }
    const stacked = new Float32Array(maps.length * first.values.length)
    maps.forEach((m, i) => stacked.set(m.values, i * first.values.length))
    return reply.type('application/x-npy').send(encodeNpy(stacked, [maps.length, first.height, first.width]))
  })
}

export default route
