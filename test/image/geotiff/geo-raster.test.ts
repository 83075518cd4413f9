import t from 'tap'
import { readFileSync } from 'node:fs'
import { GeoRaster } from '../../../src/image/geotiff/geo-raster.js'
import { gdalGeoTiff, gdalMissing } from '../../helpers/gdal.js'
import { scratchDir } from '../../helpers/models.js'

t.test('a float32 band with a nodata value and NaN: both masked, excluded from the percentiles, filled; ranges and none as documented', { skip: gdalMissing }, async (t) => {
  const dir = scratchDir(t)
  const [width, height] = [64, 48]
  const values = new Float32Array(width * height)
  for (let i = 0; i < values.length; i++) values[i] = i % 11 === 0 ? -9999 : i % 13 === 0 ? NaN : Math.sin(i / 17) * 30 + (i % 5) * 0.25
  const path = gdalGeoTiff(dir, 'float', values, { width, height, bands: 1 }, 'Float32', ['-a_srs', 'EPSG:3857', '-a_ullr', '0', '100', '100', '0', '-a_nodata', '-9999', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=16', '-co', 'BLOCKYSIZE=16'])
  const bytes = readFileSync(path)
  const fill = [10, 20, 30]
  const masked = (i: number): boolean => Number.isNaN(values[i]) || values[i] === -9999

  const raster = await GeoRaster.open(bytes, {}, fill)
  t.ok(raster?.decodesPixels, 'float32 is read by geotiff.js')
  t.equal(raster?.nodata, -9999)
  const mask = await raster?.readMask(5, 20)
  t.same(Array.from(mask ?? []), Array.from({ length: width * 20 }, (_, i) => masked(5 * width + i) ? 1 : 0), 'NaN and the nodata value are nodata')

  const valid = Array.from(values).filter((v, i) => !masked(i)).sort((a, b) => a - b)
  const percentile = (p: number): number => {
    const rank = p / 100 * (valid.length - 1)
    const low = Math.floor(rank)
    return valid[low] + (valid[Math.min(low + 1, valid.length - 1)] - valid[low]) * (rank - low)
  }
  const expected = (low: number, high: number): number[] => Array.from({ length: width * height * 3 }, (_, j) => {
    const i = Math.floor(j / 3)
    if (masked(i)) return fill[j % 3]
    const v = (values[i] - low) * (255 / (high - low))
    return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)
  })
  t.same(Array.from(await raster?.readRgb(0, height) ?? []), expected(percentile(2), percentile(98)), 'default: p2,p98 of the valid values, grey')
  const ranged = await GeoRaster.open(bytes, { stretch: { kind: 'range', min: -10, max: 10 } }, fill)
  t.same(Array.from(await ranged?.readRgb(0, height) ?? []), expected(-10, 10), 'stretch=-10,10')
  const none = await GeoRaster.open(bytes, { stretch: { kind: 'none' } }, fill)
  t.same(Array.from(await none?.readRgb(0, height) ?? []), expected(0, 255), 'none: values clamped to 0..255')
})

t.test('an 8-bit RGB GeoTIFF without nodata stays with libvips; its georeferencing is still read', { skip: gdalMissing }, async (t) => {
  const dir = scratchDir(t)
  const rgb = new Uint8Array(20 * 10 * 3).map((_, i) => i % 256)
  const path = gdalGeoTiff(dir, 'rgb', rgb, { width: 20, height: 10, bands: 3 }, 'Byte', ['-a_srs', 'EPSG:32633', '-a_ullr', '0', '10', '20', '0'])
  const raster = await GeoRaster.open(readFileSync(path), {}, [0, 0, 0])
  t.equal(raster?.decodesPixels, false)
  t.same(raster?.geo?.pixelScale, [1, 1, 0])
  t.equal(await GeoRaster.open(Buffer.from('II*\0garbage'), {}, [0, 0, 0]), undefined, 'not a TIFF geotiff.js reads')
})
