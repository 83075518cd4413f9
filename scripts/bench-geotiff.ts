/**
 * npm run bench:geotiff -- [--size 20000] [--tile 1024] [--keep out.tif]
 *
 * A synthetic size × size tiled GeoTIFF (npm run geotiff:synthetic) through /segment?format=tiff&tile=… on the
 * service in its own process (the tiny synthetic model with the satellite normalisation), measuring the wall time,
 * the server's stage times and its peak resident memory (VmHWM), and checking the answer with gdalinfo when
 * GDAL is installed. Minutes at 20000 × 20000 on a small CPU host.
 */
import { execFileSync } from 'node:child_process'
import { request, type IncomingHttpHeaders } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeScene } from '../src/image/geotiff/synthetic-scene.js'
import { writeSyntheticModel } from '../src/synthetic/synthetic-model.js'
import { spawnServer } from '../test/stress/scenarios/server-process.js'
import { commandLineMistake, parseCommandLine } from './command-line.js'

const USAGE = 'usage: npm run bench:geotiff -- [--size 20000] [--tile 1024] [--keep out.tif]'
const { values } = parseCommandLine(USAGE, {
  options: { size: { type: 'string', default: '20000' }, tile: { type: 'string', default: '1024' }, keep: { type: 'string' } }
})
const size = Number(values.size)
const tile = Number(values.tile)
if (!Number.isInteger(size) || size < 64 || !Number.isInteger(tile) || tile < 16) commandLineMistake(USAGE, '--size and --tile take whole numbers of pixels')

const dir = mkdtempSync(join(tmpdir(), 'dinov3-geotiff-bench-'))
try {
  const model = join(dir, 'model')
  writeSyntheticModel(model, { preset: 'tiny', mean: [0.430, 0.411, 0.296], std: [0.213, 0.156, 0.143], heads: { classes: 8 } })
  let started = performance.now()
  const scene = await writeScene({ width: size, height: size, bands: 3, border: 64 })
  const body = Buffer.concat(scene.chunks)
  console.log(`scene: ${size} × ${size} RGB, tiles 512, deflate: ${(body.length / 1e6).toFixed(1)} MB, written in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const server = await spawnServer({ MODEL: model, MAX_PIXELS: String(size * size), TILED_REQUEST_TIMEOUT_MS: '7200000', LOG_LEVEL: 'warn' }, 120_000)
  const peakKiB = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1] ?? NaN)
  const idleKiB = peakKiB()
  try {
    started = performance.now()
    // node:http, not fetch: undici gives up on an answer whose headers take over five minutes.
    const response = await post(`http://127.0.0.1:${server.port}/segment?format=tiff&tile=${tile}`, body)
    const answer = response.body
    const seconds = (performance.now() - started) / 1000
    if (response.status !== 200) throw new Error(`${response.status}: ${answer.toString('utf8')}`)
    const stages = ['decode', 'preprocess', 'queue', 'inference', 'postprocess'].map((s) => `${s} ${(Number(response.headers[`x-${s}-time`]) / 1000).toFixed(1)} s`)
    console.log(`/segment?format=tiff&tile=${tile}: ${seconds.toFixed(1)} s (${stages.join(', ')}), answer ${(answer.length / 1e6).toFixed(2)} MB`)
    console.log(`server peak RSS (VmHWM): ${(peakKiB() / 1024).toFixed(0)} MiB (${(idleKiB / 1024).toFixed(0)} MiB after start-up and warm-up)`)
    const out = values.keep ?? join(dir, 'labels.tif')
    writeFileSync(out, answer)
    try {
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8' }))
      console.log(`gdalinfo: size ${info.size.join(' × ')}, geotransform ${info.geoTransform.join(', ')}, ${info.bands[0].type}, block ${info.bands[0].block.join(' × ')}, nodata ${info.bands[0].noDataValue}`)
    } catch {
      console.log('gdalinfo is missing (apt-get install -y gdal-bin) or failed: the answer was not checked')
    }
  } finally {
    await server.kill()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

async function post (url: string, body: Buffer): Promise<{ status: number, headers: IncomingHttpHeaders, body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'image/tiff', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
