import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { badRequest } from '../errors.js'
import { labelPng, overlayPicture } from '../image/label-picture.js'
import { hexColour, labelPalette } from '../image/palette.js'
import { encodeRgb8 } from '../image/png.js'
import { runDense } from '../inference/dense/run-dense.js'
import { headTarget } from '../inference/dense/targets.js'
import { classCounts, labelMap } from '../inference/tasks/segment.js'
import { parseRasterOptions } from '../image/geotiff/raster-options.js'
import { labelTiff } from '../inference/tasks/geotiff-output.js'
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

/** The classes present in a label map, most pixels first, with their overlay colours. */
export function summariseClasses (labels: Uint8Array | Uint16Array, names: string[]): Array<Static<typeof ClassSummary>> {
  const palette = labelPalette(names.length)
  return classCounts(labels, names.length)
    .map((pixels, index) => ({ index, label: names[index], pixels, fraction: pixels / labels.length, colour: hexColour(palette, index) }))
    .filter((c) => c.pixels > 0)
    .sort((a, b) => b.pixels - a.pixels)
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/segment', {
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
    const images = await request.images()
    if (format !== 'json' && images.length > 1) throw badRequest(`format=${format} answers one image; send one file, or use format=json for a batch`)
    const admitted = request.admit(reply, { tiled: dense.tile !== undefined })
    const head = admitted.engine.heads.pick('segmentation', headName)
    const names = head.labels ?? []
    const mode = parseDenseMode(dense, admitted.engine)
    const results = await admitted.run((engine, context) => runDense(engine, images, mode, [headTarget(head)], { ...context, raster }))
    const { times } = admitted.context
    reply.header('x-head', head.name).header('x-classes', String(names.length))
    for (const [header, value] of Object.entries(describeGeometry(results[0], admitted.engine.patchSize))) reply.header(header, value)
    if (format === 'tiff') return sendTiff(reply, await times.time('postprocess', () => labelTiff(results[0], results[0].maps[0], names.length)))
    const maps = await times.time('postprocess', () => results.map((image) => labelMap(image, image.maps[0])))

    if (format === 'json') {
      return {
        model: admitted.engine.folder.name,
        head: head.name,
        labels: names,
        images: maps.map((map) => ({ width: map.width, height: map.height, classes: summariseClasses(map.labels, names) }))
      }
    }
    const [map] = maps
    if (format === 'overlay') {
      const original = await admitted.run((engine, context) => engine.decodeOriginal(images[0], results[0].header, context))
      const legend = summariseClasses(map.labels, names).map((c) => `${encodeURIComponent(c.label)}=${c.colour}`).join(';')
      const picture = await times.time('postprocess', () => encodeRgb8(overlayPicture(original.data, map.labels, labelPalette(names.length)), map.width, map.height))
      return reply.header('x-legend', legend).type('image/png').send(picture)
    }
    const png = await times.time('postprocess', () => labelPng(map.labels, map.width, map.height, names.length))
    return reply.type('image/png').send(png)
  })
}

export default route
