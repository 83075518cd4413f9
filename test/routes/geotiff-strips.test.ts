import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startApp } from '../helpers/app.js'
import { gdalGeoTiff, gdalinfo, gdalMissing, gdalPixels } from '../helpers/gdal.js'
import { borderedRgb, differences, filledPng, labelsOf, model, post, utm } from '../helpers/geotiff-cases.js'
import { scratchDir } from '../helpers/models.js'

// Three 3000 × 2500 passes of the tiny model: seconds alone, minutes on a machine shared by many test files.
t.setTimeout(900_000)

t.test('a 3000 × 2500 tiled GeoTIFF through tile=1024 in strips of about one row of windows: the same answer as one strip and as the PNG', { skip: gdalMissing }, async (t) => {
  const dir = scratchDir(t)
  const [width, height] = [3000, 2500]
  const { rgb, nodata } = borderedRgb(width, height, 40)
  const input = readFileSync(gdalGeoTiff(dir, 'large', rgb, { width, height, bands: 3 }, 'Byte',
    [...utm, '-a_nodata', '0', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=512', '-co', 'BLOCKYSIZE=512', '-co', 'COMPRESS=DEFLATE']))
  const query = '/segment?format=tiff&tile=1024&overlap=256'
  const stripped = await startApp(t, model, { STRIP_PIXELS: String(width * 1100) }) // rows of windows at 0, 768, 1476: three strips
  const labels = gdalPixels(dir, await post(stripped, query, input, dir, 'strips.tif'), 'Byte')
  const info = gdalinfo(join(dir, 'strips.tif'))
  t.same([info.size, info.bands[0].block, info.bands[0].noDataValue], [[width, height], [256, 256], 255])

  const whole = await startApp(t, model)
  t.equal(differences(gdalPixels(dir, await post(whole, query, input, dir, 'one.tif'), 'Byte'), labels), 0, 'strips change nothing')
  const expected = await labelsOf(whole, await filledPng(rgb, nodata, width, height), '?tile=1024&overlap=256')
  nodata.forEach((n, i) => { if (n === 1) expected[i] = 255 })
  t.equal(differences(labels, expected), 0, 'the PNG answer on the mean-filled picture, 255 on the border')
  t.equal(labels.length, width * height)
})
