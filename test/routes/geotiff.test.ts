import t from 'tap'
import sharp from 'sharp'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeNpy } from '../../src/image/npy.js'
import { sharedApp, imageHeaders } from '../helpers/app.js'
import { gdalGeoTiff, gdalinfo, gdalMissing, gdalPixels, gdalRotatedGeoTiff } from '../helpers/gdal.js'
import { patternRgb, rawInput } from '../helpers/images.js'
import { scratchDir } from '../helpers/models.js'

import { borderedRgb, filledPng, labelsOf, model, post, utm } from '../helpers/geotiff-cases.js'

t.test('/segment?format=tiff on a GeoTIFF with nodata borders: GDAL reads the same CRS, geotransform and size, and nodata where the input was nodata', { skip: gdalMissing }, async (t) => {
  const app = await sharedApp(model)
  const dir = scratchDir(t)
  const [width, height] = [300, 200]
  const { rgb, nodata } = borderedRgb(width, height, 12)
  const input = gdalGeoTiff(dir, 'bordered', rgb, { width, height, bands: 3 }, 'Byte',
    [...utm, '-a_nodata', '0', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=128', '-co', 'BLOCKYSIZE=128', '-co', 'COMPRESS=DEFLATE'])
  const source = gdalinfo(input)
  const reference = await filledPng(rgb, nodata, width, height)

  for (const query of ['', '&tile=128&overlap=32']) {
    const output = await post(app, `/segment?format=tiff${query}`, readFileSync(input), dir, `labels${query.length}.tif`)
    const info = gdalinfo(output)
    t.same(info.size, [width, height], `${query} size`)
    t.same(info.geoTransform, source.geoTransform, `${query} geotransform`)
    t.equal(info.coordinateSystem?.wkt, source.coordinateSystem?.wkt, `${query} CRS`)
    t.match(info.coordinateSystem?.wkt, /ID\["EPSG",32633\]\]$/, 'UTM 33N')
    t.equal(info.bands.length, 1)
    t.same([info.bands[0].type, info.bands[0].noDataValue, info.bands[0].block], ['Byte', 255, [256, 256]], `${query} uint8, nodata 255, 256² tiles`)
    t.equal(info.metadata?.IMAGE_STRUCTURE?.COMPRESSION, 'DEFLATE')

    const labels = gdalPixels(dir, output, 'Byte')
    const expected = await labelsOf(app, reference, query.replace('&', '?'))
    nodata.forEach((n, i) => { if (n === 1) expected[i] = 255 })
    t.same(labels, expected, `${query} labels equal the PNG answer on the mean-filled picture, 255 on the border`)
    t.ok(new Set(labels).size >= 3, 'nodata and at least two classes')
  }
})

t.test('/depth?format=tiff keeps a rotated geotransform (ModelTransformation); float32, NaN nodata, the head\'s unit', { skip: gdalMissing }, async (t) => {
  const app = await sharedApp(model)
  const dir = scratchDir(t)
  const [width, height] = [180, 140]
  const rgb = patternRgb(width, height, 5)
  const geoTransform = [440720, 20, 5, 3751320, 4, -20]
  const input = gdalRotatedGeoTiff(dir, 'rotated', rgb, width, height, geoTransform, 32611)
  const source = gdalinfo(input)
  t.same(source.geoTransform, geoTransform, 'GDAL wrote the rotation')

  const output = await post(app, '/depth?format=tiff', readFileSync(input), dir, 'depth.tif')
  const info = gdalinfo(output)
  t.same(info.geoTransform, geoTransform, 'the same rotated geotransform')
  t.equal(info.coordinateSystem?.wkt, source.coordinateSystem?.wkt, 'the same CRS')
  t.same(info.size, [width, height])
  t.same([info.bands[0].type, info.bands[0].noDataValue, info.bands[0].unit], ['Float32', 'NaN', 'm'])

  const png = await sharp(rgb, rawInput(width, height)).png().toBuffer()
  const npy = decodeNpy((await app.inject({ method: 'POST', url: '/depth', headers: imageHeaders(), payload: png })).rawPayload)
  t.same(gdalPixels(dir, output, 'Float32'), npy.data, 'the same values as the npy answer (8-bit RGB without nodata reads as it is)')
})

t.test('a 16-bit 4-band GeoTIFF: bands and stretch pick and scale the bands exactly as documented', { skip: gdalMissing }, async (t) => {
  const app = await sharedApp(model)
  const dir = scratchDir(t)
  const [width, height, bands] = [160, 120, 4]
  const values = new Uint16Array(width * height * bands)
  const nodata = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      if (x >= width - 20) { nodata[i] = 1; continue } // an all-zero right edge
      for (let b = 0; b < bands; b++) values[i * bands + b] = 100 + ((x * (b + 3) * 37 + y * (7 - b) * 53 + b * 1000 + ((x * y) % 97) * 11) % 9000)
    }
  }
  const input = gdalGeoTiff(dir, 'multi', values, { width, height, bands }, 'UInt16', [...utm, '-a_nodata', '0', '-co', 'TILED=YES', '-co', 'COMPRESS=LZW'])

  /** numpy.percentile (linear) of the valid pixels, then round(255 · (v − low) / (high − low)) clamped. */
  const stretched = (order: number[], low: number, high: number): Uint8Array => {
    const rgb = new Uint8Array(width * height * 3)
    order.forEach((band, c) => {
      const valid = Array.from(nodata.keys()).filter((i) => nodata[i] === 0).map((i) => values[i * bands + band - 1]).sort((a, b) => a - b)
      const at = (p: number): number => {
        const rank = p / 100 * (valid.length - 1)
        const lo = Math.floor(rank)
        return valid[lo] + (valid[Math.min(lo + 1, valid.length - 1)] - valid[lo]) * (rank - lo)
      }
      const [a, b] = [at(low), at(high)]
      for (let i = 0; i < width * height; i++) {
        const v = (values[i * bands + band - 1] - a) * (255 / (b - a))
        rgb[i * 3 + c] = Math.min(255, Math.max(0, Math.round(v)))
      }
    })
    return rgb
  }

  for (const [query, order, low, high] of [['', [1, 2, 3], 2, 98], ['&bands=4,3,2&stretch=p5,p95', [4, 3, 2], 5, 95]] as const) {
    const output = await post(app, `/segment?format=tiff${query}`, readFileSync(input), dir, `multi${query.length}.tif`)
    const info = gdalinfo(output)
    t.same([info.size, info.bands[0].type, info.bands[0].noDataValue], [[width, height], 'Byte', 255])
    const expected = await labelsOf(app, await filledPng(stretched([...order], low, high), nodata, width, height))
    nodata.forEach((n, i) => { if (n === 1) expected[i] = 255 })
    t.same(gdalPixels(dir, output, 'Byte'), expected, `${query === '' ? 'default: bands 1,2,3 at p2,p98' : query}`)
  }

  const bad = async (query: string, pattern: RegExp): Promise<void> => {
    const response = await app.inject({ method: 'POST', url: `/segment?format=tiff&${query}`, headers: imageHeaders('image/tiff'), payload: readFileSync(input) })
    t.equal(response.statusCode, 400, query)
    t.match(response.json(), { error: 'bad_request', message: pattern }, query)
  }
  await bad('bands=5,3,2', /4 bands.*band 5 does not exist/)
  await bad('bands=1,2', /three .* or one/)
  await bad('bands=0', /numbered from 1/)
  await bad('stretch=p98,p2', /0 <= low < high <= 100/)
  await bad('stretch=p2,p101', /0 <= low < high <= 100/)
  await bad('stretch=3000,0', /min < max/)
  await bad('stretch=linear', /not a stretch/)
})

t.test('format=tiff for a picture without georeferencing is a plain TIFF; bands on a PNG is a 400', { skip: gdalMissing }, async (t) => {
  const app = await sharedApp(model)
  const dir = scratchDir(t)
  const [width, height] = [120, 90]
  const png = await sharp(patternRgb(width, height, 2), rawInput(width, height)).png().toBuffer()
  const response = await app.inject({ method: 'POST', url: '/segment?format=tiff', headers: imageHeaders(), payload: png })
  t.equal(response.headers['content-type'], 'image/tiff')
  const path = join(dir, 'plain.tif')
  writeFileSync(path, response.rawPayload)
  const info = gdalinfo(path)
  t.equal(info.coordinateSystem, undefined, 'no CRS')
  t.equal(info.geoTransform, undefined, 'no geotransform')
  t.same(gdalPixels(dir, path, 'Byte'), await labelsOf(app, png), 'the label PNG\'s pixels')

  const banded = await app.inject({ method: 'POST', url: '/segment?bands=1', headers: imageHeaders(), payload: png })
  t.equal(banded.statusCode, 400)
  t.match(banded.json().message, /apply to TIFF images/)
  const batch = await app.inject({ method: 'POST', url: '/features?format=tiff', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: `--x\r\nContent-Disposition: form-data; name="a"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${png.toString('latin1')}\r\n--x\r\nContent-Disposition: form-data; name="b"; filename="b.png"\r\nContent-Type: image/png\r\n\r\n${png.toString('latin1')}\r\n--x--\r\n` })
  t.equal(batch.statusCode, 400, 'one image per TIFF')
})

t.test('/features?format=tiff: the PCA picture as RGB plus an alpha band that is 0 on nodata', { skip: gdalMissing }, async (t) => {
  const app = await sharedApp(model)
  const dir = scratchDir(t)
  const [width, height] = [150, 110]
  const { rgb, nodata } = borderedRgb(width, height, 9)
  const input = gdalGeoTiff(dir, 'pca', rgb, { width, height, bands: 3 }, 'Byte', [...utm, '-a_nodata', '0'])
  const output = await post(app, '/features?format=tiff', readFileSync(input), dir, 'pca.tif')
  const info = gdalinfo(output)
  t.same(info.bands.map((b) => b.colorInterpretation), ['Red', 'Green', 'Blue', 'Alpha'])
  t.same(info.geoTransform, gdalinfo(input).geoTransform)
  const pixels = gdalPixels(dir, output, 'Byte')
  const png = await app.inject({ method: 'POST', url: '/features?format=png', headers: imageHeaders(), payload: await filledPng(rgb, nodata, width, height) })
  const picture = await sharp(png.rawPayload).raw().toBuffer()
  const expected = new Uint8Array(width * height * 4)
  nodata.forEach((n, i) => {
    for (let c = 0; c < 3; c++) expected[i * 4 + c] = n === 1 ? 0 : picture[i * 3 + c]
    expected[i * 4 + 3] = n === 1 ? 0 : 255
  })
  t.same(pixels, expected, 'the PNG picture\'s colours inside, transparent on the border')
})
