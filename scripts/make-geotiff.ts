/**
 * npm run geotiff:synthetic -- [--width 4096] [--height 4096] [--bands 3|4] [--border 64] [--out scene.tif]
 *
 * Writes a synthetic, tiled, deflated GeoTIFF (UTM 33N, nodata 0 on a border) for the README's example and the
 * GeoTIFF benchmark.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { writeScene } from '../src/image/geotiff/synthetic-scene.js'
import { commandLineMistake, parseCommandLine } from './command-line.js'

const USAGE = `usage: npm run geotiff:synthetic -- [--width 4096] [--height 4096] [--bands 3|4] [--border 64] [--out scene.tif]
  --bands 3: uint8 RGB; 4: uint16 blue, green, red, near infrared (up to 4000). Nodata 0 on a border of --border pixels.`

const { values } = parseCommandLine(USAGE, {
  options: {
    width: { type: 'string', default: '4096' },
    height: { type: 'string', default: '4096' },
    bands: { type: 'string', default: '3' },
    border: { type: 'string', default: '64' },
    out: { type: 'string', default: 'scene.tif' }
  }
})

const whole = (name: 'width' | 'height' | 'border', min: number): number => {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n < min) commandLineMistake(USAGE, `--${name} must be a whole number of at least ${min}, got ${values[name]}`)
  return n
}
if (values.bands !== '3' && values.bands !== '4') commandLineMistake(USAGE, `--bands takes 3 or 4, got ${values.bands}`)

const started = performance.now()
const width = whole('width', 1)
const height = whole('height', 1)
const tiff = await writeScene({ width, height, bands: Number(values.bands) as 3 | 4, border: whole('border', 0) })
const file = createWriteStream(values.out)
for (const chunk of tiff.chunks) if (!file.write(chunk)) await once(file, 'drain')
file.end()
await once(file, 'finish')
console.log(`${values.out}: ${width} × ${height}, ${values.bands} bands, ${(tiff.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`)
