import t from 'tap'
import { fromArrayBuffer } from 'geotiff'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GeoRaster } from '../../../src/image/geotiff/geo-raster.js'
import { writeTiledTiff, type TiffSpec } from '../../../src/image/geotiff/tiff-writer.js'
import { gdal, gdalinfo, gdalMissing, gdalPixels } from '../../helpers/gdal.js'
import { scratchDir } from '../../helpers/models.js'

/** Rows of a value pattern that differs in every pixel and sample (so shifted tiles cannot pass). */
function pattern (spec: Pick<TiffSpec, 'width' | 'height' | 'samples'>, value: (x: number, y: number, s: number) => number, ArrayType: Uint16ArrayConstructor | Float32ArrayConstructor | Uint8ArrayConstructor): Uint16Array | Float32Array | Uint8Array {
  const out = new ArrayType(spec.width * spec.height * spec.samples)
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      for (let s = 0; s < spec.samples; s++) out[(y * spec.width + x) * spec.samples + s] = value(x, y, s)
    }
  }
  return out
}

async function write (spec: TiffSpec, values: Uint16Array | Float32Array | Uint8Array): Promise<Buffer> {
  const rowsAsked: number[] = []
  const tiff = await writeTiledTiff(spec, (top, height) => {
    rowsAsked.push(top, height)
    return values.subarray(top * spec.width * spec.samples, (top + height) * spec.width * spec.samples)
  })
  const bytes = Buffer.concat(tiff.chunks)
  if (bytes.length !== tiff.bytes) throw new Error('byte count')
  return bytes
}

async function readBack (bytes: Buffer): Promise<{ values: ArrayLike<number>, tileWidth: number, compression: unknown }> {
  const image = await (await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)).getImage(0)
  const values = await image.readRasters({ interleave: true })
  return { values: values as unknown as ArrayLike<number>, tileWidth: image.getTileWidth(), compression: image.getFileDirectory().getValue('Compression') }
}

t.test('uint16, float32 with NaN and RGBA tiles, edge tiles included, read back by geotiff.js', async (t) => {
  const cases = [
    { spec: { width: 70, height: 37, samples: 1, type: 'uint16', tileSize: 32 } as const, value: (x: number, y: number) => x * 911 + y * 37, array: Uint16Array },
    { spec: { width: 33, height: 65, samples: 1, type: 'float32', tileSize: 16 } as const, value: (x: number, y: number) => (x + y) % 7 === 0 ? NaN : x / 3 - y * 1.5, array: Float32Array },
    { spec: { width: 40, height: 20, samples: 4, type: 'uint8', tileSize: 16 } as const, value: (x: number, y: number, s: number) => (x * 7 + y * 13 + s * 50) % 256, array: Uint8Array }
  ]
  for (const { spec, value, array } of cases) {
    const values = pattern(spec, value, array)
    const back = await readBack(await write(spec, values))
    t.same(Array.from(back.values), Array.from(values), `${spec.type} × ${spec.samples}`)
    t.same([back.tileWidth, back.compression], [spec.tileSize, 8], 'tiled, deflate')
  }
})

t.test('GDAL reads the tags: size, tiling, type, nodata, a rotated geotransform, and a CRS with double and ASCII geokeys', { skip: gdalMissing }, async (t) => {
  const dir = scratchDir(t)
  const wgs84 = join(dir, 'wgs84.tif')
  gdal('gdal_create', ['-q', '-of', 'GTiff', '-outsize', '10', '10', '-a_srs', 'EPSG:4326', '-a_ullr', '10', '50', '11', '49', wgs84])
  const source = await GeoRaster.open(readFileSync(wgs84), {}, [0, 0, 0])
  t.ok(source?.geo?.doubleParams !== undefined && source.geo.asciiParams !== undefined, 'GDAL wrote double and ASCII geokeys')

  const spec = { width: 70, height: 37, samples: 1, type: 'uint16', tileSize: 32, nodata: '65535' } as const
  const values = pattern(spec, (x, y) => x * 911 + y * 37, Uint16Array)
  const path = join(dir, 'out.tif')
  writeFileSync(path, await write({ ...spec, geo: source?.geo }, values))
  const info = gdalinfo(path)
  t.same([info.size, info.bands[0].block, info.bands[0].type, info.bands[0].noDataValue], [[70, 37], [32, 32], 'UInt16', 65535])
  t.equal(info.coordinateSystem?.wkt, gdalinfo(wgs84).coordinateSystem?.wkt, 'the same CRS')
  t.same(info.geoTransform, [10, 0.1, 0, 50, 0, -0.1], 'tiepoint and pixel scale kept')
  t.same(Array.from(gdalPixels(dir, path, 'UInt16')), Array.from(values), 'GDAL reads the same pixels')

  const rotated = join(dir, 'rotated.tif')
  const transformation = [2, 0.5, 0, 1000, 0.25, -2, 0, 5000, 0, 0, 0, 0, 0, 0, 0, 1]
  writeFileSync(rotated, await write({ ...spec, geo: { ...source?.geo, pixelScale: undefined, tiepoint: undefined, transformation } }, values))
  t.same(gdalinfo(rotated).geoTransform, [1000, 2, 0.5, 5000, 0.25, -2], 'ModelTransformation is the geotransform')
})
