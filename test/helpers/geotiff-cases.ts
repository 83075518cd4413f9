import sharp from 'sharp'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { IMAGENET_MEAN } from '../../src/synthetic/synthetic-model.js'
import { imageHeaders, type startApp } from './app.js'
import { patternRgb, rawInput } from './images.js'
import { syntheticModel } from './models.js'

/** Shared by the GeoTIFF route tests: the model, inputs with nodata borders, and the answers they are checked against. */
export const model = syntheticModel({ preset: 'tiny', seed: 41, heads: { classes: 5 } })
export const mean = IMAGENET_MEAN.map((m) => Math.round(255 * m))
export const utm = ['-a_srs', 'EPSG:32633', '-a_ullr', '500000', '4000000', '503000', '3998000']
export type FastifyApp = Awaited<ReturnType<typeof startApp>>

/** The pattern with a nodata border of `border` pixels (all bands 0) and no all-zero pixel inside. */
export function borderedRgb (width: number, height: number, border: number): { rgb: Buffer, nodata: Uint8Array } {
  const rgb = patternRgb(width, height, 3)
  const nodata = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      if (x < border || y < border || x >= width - border || y >= height - border) {
        nodata[i] = 1
        rgb.fill(0, i * 3, i * 3 + 3)
      } else if (rgb[i * 3] === 0 && rgb[i * 3 + 1] === 0 && rgb[i * 3 + 2] === 0) {
        rgb[i * 3] = 1
      }
    }
  }
  return { rgb, nodata }
}

/** What the model must have been shown: the picture with nodata pixels in the model's mean colour. */
export async function filledPng (rgb: Uint8Array, nodata: Uint8Array, width: number, height: number): Promise<Buffer> {
  const filled = Buffer.from(rgb)
  nodata.forEach((n, i) => { if (n === 1) for (let c = 0; c < 3; c++) filled[i * 3 + c] = mean[c] })
  return sharp(filled, rawInput(width, height)).png().toBuffer()
}

export async function labelsOf (app: FastifyApp, png: Buffer, query = ''): Promise<Uint8Array> {
  const response = await app.inject({ method: 'POST', url: `/segment${query}`, headers: imageHeaders(), payload: png })
  return new Uint8Array(await sharp(response.rawPayload).toColourspace('b-w').raw().toBuffer())
}

/** Pixels that differ (tap's deep comparison takes minutes over millions of values). */
export function differences (a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let count = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++
  return count
}

export async function post (app: FastifyApp, url: string, payload: Buffer, dir: string, name: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url, headers: imageHeaders('image/tiff'), payload })
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
  const path = join(dir, name)
  writeFileSync(path, response.rawPayload)
  return path
}
