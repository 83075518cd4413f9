import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { TiffChunks } from '../image/geotiff/tiff-writer.js'
import { sendParts } from './send-parts.js'

/** How a TIFF's bands become the model's 8-bit RGB (src/image/geotiff/raster-options.ts parses them). */
export const rasterQueryProperties = {
  bands: Type.Optional(Type.String({
    maxLength: 40,
    description: 'TIFF inputs: the 1-based bands shown to the model as R,G,B, or one band shown grey. ' +
      'Default 1,2,3 (band 1 for one- and two-band images). Example: bands=3,2,1 for blue,green,red,NIR imagery'
  })),
  stretch: Type.Optional(Type.String({
    maxLength: 60,
    description: 'TIFF inputs: how band values become 8 bits, out = round(255 · (v − low) / (high − low)) clamped to 0..255. ' +
      '`pLOW,pHIGH`: per-band percentiles (as numpy.percentile, nodata excluded; the default for bands that are not 8-bit is p2,p98); ' +
      '`MIN,MAX`: fixed values in the band\'s unit; `none`: values as they are (the default for 8-bit bands). Example: stretch=p1,p99'
  }))
}

/** The TIFF's chunks as they are (header, tiles, directory), never concatenated into one more copy. */
export function sendTiff (reply: FastifyReply, tiff: TiffChunks): FastifyReply {
  return sendParts(reply, 'image/tiff', tiff.chunks)
}
