import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** GDAL's own tools (Debian's gdal-bin) check the GeoTIFFs: tests skip with this message where they are missing. */
export const gdalMissing: string | false = spawnSync('gdalinfo', ['--version']).status === 0
  ? false
  : 'gdalinfo is missing; install Debian\'s gdal-bin (apt-get install -y gdal-bin, as .ci/run does) to check GeoTIFFs with GDAL'

export function gdal (tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export interface GdalInfo {
  size: [number, number]
  geoTransform?: number[]
  coordinateSystem?: { wkt: string }
  bands: Array<{ band: number, block: [number, number], type: string, noDataValue?: number | string, colorInterpretation: string, unit?: string }>
  metadata?: Record<string, Record<string, string>>
}

export function gdalinfo (path: string): GdalInfo {
  return JSON.parse(gdal('gdalinfo', ['-json', path])) as GdalInfo
}

export type GdalType = 'Byte' | 'UInt16' | 'Float32'
const ENVI_TYPES: Record<GdalType, number> = { Byte: 1, UInt16: 12, Float32: 4 }

/**
 * A GeoTIFF made by GDAL from band-interleaved-by-pixel values (through an ENVI raw file), with the given
 * gdal_translate options (georeferencing, nodata, tiling, compression).
 */
export function gdalGeoTiff (dir: string, name: string, values: Uint8Array | Uint16Array | Float32Array, size: { width: number, height: number, bands: number }, type: GdalType, options: string[]): string {
  const raw = join(dir, `${name}.bip`)
  writeFileSync(raw, new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
  writeFileSync(join(dir, `${name}.hdr`), `ENVI\nsamples = ${size.width}\nlines = ${size.height}\nbands = ${size.bands}\nheader offset = 0\n` +
    `file type = ENVI Standard\ndata type = ${ENVI_TYPES[type]}\ninterleave = bip\nbyte order = 0\n`)
  const out = join(dir, `${name}.tif`)
  gdal('gdal_translate', ['-q', '-of', 'GTiff', ...options, raw, out])
  return out
}

/** A GeoTIFF with any geotransform (rotated ones included): a VRT over the raw values, translated by GDAL. */
export function gdalRotatedGeoTiff (dir: string, name: string, rgb: Uint8Array, width: number, height: number, geoTransform: number[], epsg: number): string {
  const raw = join(dir, `${name}.raw`)
  writeFileSync(raw, rgb)
  const bands = [1, 2, 3].map((b) => `<VRTRasterBand dataType="Byte" band="${b}" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="1">${name}.raw</SourceFilename><ImageOffset>${b - 1}</ImageOffset><PixelOffset>3</PixelOffset><LineOffset>${width * 3}</LineOffset>
  </VRTRasterBand>`).join('\n')
  const vrt = join(dir, `${name}.vrt`)
  writeFileSync(vrt, `<VRTDataset rasterXSize="${width}" rasterYSize="${height}"><SRS>EPSG:${epsg}</SRS><GeoTransform>${geoTransform.join(', ')}</GeoTransform>\n${bands}\n</VRTDataset>`)
  const out = join(dir, `${name}.tif`)
  gdal('gdal_translate', ['-q', '-of', 'GTiff', '-co', 'TILED=YES', vrt, out])
  return out
}

/** Band 1..n of a raster as GDAL reads it (through an ENVI raw file), band-interleaved-by-pixel. */
export function gdalPixels (dir: string, path: string, type: GdalType): Uint8Array | Uint16Array | Float32Array {
  const out = join(dir, `read-${Math.random().toString(36).slice(2)}.raw`)
  // ENVI cannot hold a rotated geotransform, and only the pixels matter here.
  gdal('gdal_translate', ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BIP', '-a_ullr', '0', '1', '1', '0', path, out])
  const bytes = readFileSync(out)
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)
  return type === 'Byte' ? new Uint8Array(buffer) : type === 'UInt16' ? new Uint16Array(buffer) : new Float32Array(buffer)
}
