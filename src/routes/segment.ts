import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { parseRasterOptions } from '../image/geotiff/raster-options.js'
import { segment } from '../inference/tasks/segment.js'
import { denseQueryProperties, parseDenseMode } from './dense-params.js'
import { rasterQueryProperties, sendTiff } from './raster-params.js'
import { describeGeometry } from './geometry-headers.js'
import { errorResponses, headErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { segmentHeaders } from './response-headers.js'
import { answer, StringEnum } from './schemas.js'

const SegmentQuery = Type.Object({
  format: Type.Optional(StringEnum(['png', 'json', 'overlay', 'tiff'], {
    default: 'png',
    description: 'png: 1-channel label PNG at the input\'s size (pixel = class index; 16-bit above 256 classes); ' +
      'json: labels and per-class pixel counts (several images allowed); overlay: the picture tinted with a colour per class (legend in x-legend); ' +
      'tiff: a tiled GeoTIFF label map with the input\'s georeferencing (uint8, nodata 255; uint16, nodata 65535, above 255 classes)',
    examples: ['png', 'json', 'overlay', 'tiff']
  })),
  head: Type.Optional(Type.String({
    description: 'Segmentation head name (see GET /models); the only segmentation head is the default, and several need a choice. ' +
      'Example: head=ade20k'
  })),
  ...denseQueryProperties,
  ...rasterQueryProperties
}, { additionalProperties: false })

export const ClassSummary = Type.Object({
  index: Type.Integer({ description: 'Class index: the pixel value in the label PNG' }),
  label: Type.String(),
  pixels: Type.Integer({ description: 'Pixels of this class at the input\'s size' }),
  fraction: Type.Number({ description: 'pixels / (width · height)' }),
  colour: Type.String({ description: 'Its colour in overlays, #rrggbb' })
})

const SegmentJson = Type.Object({
  model: Type.String({ description: 'The model folder\'s name' }),
  head: Type.String({ description: 'The head that answered' }),
  labels: Type.Array(Type.String(), { description: 'All the head\'s labels, by class index' }),
  images: Type.Array(Type.Object({
    width: Type.Integer(),
    height: Type.Integer(),
    classes: Type.Array(ClassSummary, { description: 'The classes present, most pixels first' })
  }), { description: 'One per image, in upload order' })
})

/** Classes of a 683×512 street photo under an ADE20K head (labels shortened to four of 150). */
export const classesExample = [
  { index: 2, label: 'sky', pixels: 150212, fraction: 0.4296, colour: '#008000' },
  { index: 1, label: 'building', pixels: 120345, fraction: 0.3441, colour: '#800000' },
  { index: 0, label: 'wall', pixels: 79139, fraction: 0.2263, colour: '#000000' }
]

const segmentExample = {
  model: 'dinov3-vits16-pretrain-lvd1689m-ONNX',
  head: 'ade20k',
  labels: ['wall', 'building', 'sky', 'floor'],
  images: [{ width: 683, height: 512, classes: classesExample }]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/segment', {
    config: { admits: true },
    schema: {
      summary: 'Label map from a segmentation head',
      description: 'Logits from the head are resampled bilinearly to the input\'s size, then the best class per pixel is taken.',
      tags: ['heads'],
      requestBody: imageRequestBody,
      querystring: SegmentQuery,
      response: {
        200: answer({
          description: 'The segmentation of each image',
          headers: segmentHeaders,
          json: { schema: SegmentJson, example: segmentExample },
          binary: {
            'image/png': 'format=png (the default): grey label PNG at the input\'s size, pixel = class index (8-bit, 16-bit above 256 classes); ' +
              'format=overlay: the picture tinted with each class\'s colour, legend in x-legend. One image',
            'image/tiff': 'format=tiff: tiled, deflated label GeoTIFF at the input\'s size with its CRS and geotransform; ' +
              'uint8 with nodata 255 (uint16 with nodata 65535 above 255 classes) where the input is nodata. One image'
          }
        }),
        ...errorResponses(headErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { format = 'png', head: headName, bands, stretch, ...dense } = request.query
    const raster = parseRasterOptions({ bands, stretch })
    const engine = app.modelHost.require()
    const head = engine.heads.pick('segmentation', headName)
    const mode = parseDenseMode(dense, engine)
    const images = await request.images()
    const admitted = request.admit(reply, { tiled: mode.kind === 'tiled' })
    const answer = await admitted.run((engine, context) => segment(engine, images, { head, mode, format, raster }, context))
    const names = head.labels ?? []
    reply.headers({ 'x-head': head.name, 'x-classes': String(names.length), ...describeGeometry(answer.geometry, engine.patchSize) })
    if (answer.tiff !== undefined) return sendTiff(reply, answer.tiff)
    if (format === 'json') return { model: engine.folder.name, head: head.name, labels: names, images: answer.images }
    if (format === 'overlay') reply.header('x-legend', answer.images[0].classes.map((c) => `${encodeURIComponent(c.label)}=${c.colour}`).join(';'))
    return reply.type('image/png').send(answer.png)
  })
}

export default route
