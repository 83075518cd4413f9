import { writeTiledTiff, type PixelRows, type TiffChunks, type TiffSpec } from '../../image/geotiff/tiff-writer.js'
import type { DenseImage } from '../dense/dense-image.js'
import { pcaPlanes } from '../feature-picture.js'
import { resampleArgmax, resampleBilinear, samplingFor, type PlanarMap } from '../resample.js'

/**
 * Dense answers as (Geo)TIFFs at the input's size, with the input's georeferencing copied, so that GDAL and QGIS lay
 * them over the input. Rows are resampled from the head-resolution map one tile row at a time and compressed as they
 * come: no full-resolution logits, label map or depth map is ever held, only compressed tiles. Pixels that are nodata
 * in the input (see GeoRaster) are nodata in the output.
 */

/** Label nodata: the largest value of the label type, never a class (uint8 up to 255 classes, uint16 beyond). */
export function labelType (classes: number): { type: 'uint8' | 'uint16', nodata: number } {
  return classes <= 255 ? { type: 'uint8', nodata: 255 } : { type: 'uint16', nodata: 65535 }
}

export async function labelTiff (image: DenseImage, logits: PlanarMap, classes: number): Promise<TiffChunks> {
  const { type, nodata } = labelType(classes)
  const sampling = samplingFor(image.geometry, logits.width, logits.height)
  const { width, height } = image.geometry.original
  return mapTiff(image, { samples: 1, type, nodata: String(nodata) }, async (top, rows) => {
    const argmax = resampleArgmax(logits, sampling, width, height, { top, height: rows })
    const labels = type === 'uint16' && argmax instanceof Uint8Array ? Uint16Array.from(argmax) : argmax
    const mask = await image.header.raster?.readMask(top, rows)
    if (mask !== undefined) for (let i = 0; i < labels.length; i++) if (mask[i] === 1) labels[i] = nodata
    return labels
  })
}

/** float32 in the head's unit; nodata is NaN (a depth head can answer any finite value, 0 and negatives included). */
export async function depthTiff (image: DenseImage, depth: PlanarMap, unit: string): Promise<TiffChunks> {
  const sampling = samplingFor(image.geometry, depth.width, depth.height)
  const { width, height } = image.geometry.original
  const metadata = `<GDALMetadata><Item name="UNIT" sample="0" role="unittype">${escapeXml(unit)}</Item></GDALMetadata>`
  return mapTiff(image, { samples: 1, type: 'float32', nodata: 'nan', metadata }, async (top, rows) => {
    const values = resampleBilinear(depth, sampling, width, height, { top, height: rows })
    const mask = await image.header.raster?.readMask(top, rows)
    if (mask !== undefined) for (let i = 0; i < values.length; i++) if (mask[i] === 1) values[i] = NaN
    return values
  })
}

/**
 * The first three principal components as RGB, plus an alpha band that is 0 on the input's nodata (any RGB value is
 * a valid PCA colour, so no value of the three can mean nodata).
 */
export async function pcaTiff (image: DenseImage, features: PlanarMap): Promise<TiffChunks> {
  const map = pcaPlanes(features)
  const sampling = samplingFor(image.geometry, features.width, features.height)
  const { width, height } = image.geometry.original
  return mapTiff(image, { samples: 4, type: 'uint8' }, async (top, rows) => {
    const resampled = resampleBilinear(map, sampling, width, height, { top, height: rows })
    const mask = await image.header.raster?.readMask(top, rows)
    const plane = width * rows
    const rgba = new Uint8Array(4 * plane)
    for (let i = 0; i < plane; i++) {
      const valid = mask?.[i] !== 1
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = valid ? Math.round(resampled[c * plane + i]) : 0
      rgba[i * 4 + 3] = valid ? 255 : 0
    }
    return rgba
  })
}

async function mapTiff (image: DenseImage, spec: Omit<TiffSpec, 'width' | 'height' | 'geo'>, rows: (top: number, height: number) => Promise<PixelRows>): Promise<TiffChunks> {
  const { width, height } = image.geometry.original
  return writeTiledTiff({ ...spec, width, height, geo: image.header.raster?.geo }, rows)
}

function escapeXml (text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
