import { encodePng } from '../../src/image/png.js'
import type { LabelledImage } from '../../src/fitting/index.js'
import { SeededRandom } from '../../src/synthetic/random.js'

/**
 * Segmentation scenes with `classes` classes (0 = a textured background, the others shapes of their own hue and
 * texture), `count` images of side × side: the workload (100 images of 512², 21 classes).
 */
export function fitDataset (count: number, side: number, classes: number): { labels: string[], images: LabelledImage[] } {
  const random = new SeededRandom(42)
  const hue = (k: number): [number, number, number] => {
    const a = 2 * Math.PI * k / (classes - 1)
    return [128 + 110 * Math.cos(a), 128 + 110 * Math.cos(a + 2.1), 128 + 110 * Math.cos(a + 4.2)]
  }
  const images = Array.from({ length: count }, (_, n) => {
    const rgb = new Uint8Array(side * side * 3)
    const mask = new Uint8Array(side * side)
    for (let i = 0; i < side * side; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = 90 + Math.floor(random.uniform() * 50)
    for (let s = 0; s < 4; s++) {
      const k = 1 + Math.floor(random.uniform() * (classes - 1))
      const [r, g, b] = hue(k)
      const size = Math.floor(side * (0.15 + 0.2 * random.uniform()))
      const x0 = Math.floor(random.uniform() * (side - size))
      const y0 = Math.floor(random.uniform() * (side - size))
      const round = k % 2 === 0
      for (let y = y0; y < y0 + size; y++) {
        for (let x = x0; x < x0 + size; x++) {
          if (round && (x - x0 - size / 2) ** 2 + (y - y0 - size / 2) ** 2 > (size / 2) ** 2) continue
          const i = y * side + x
          const stripe = (k % 3 === 0 && Math.floor((x + y) / 6) % 2 === 0) ? 0.6 : 1
          rgb[3 * i] = r * stripe
          rgb[3 * i + 1] = g * stripe
          rgb[3 * i + 2] = b * stripe
          mask[i] = k
        }
      }
    }
    return {
      file: `scene-${n}.png`,
      image: encodePng({ data: rgb, width: side, height: side, colour: 'rgb' }),
      mask: encodePng({ data: mask, width: side, height: side, colour: 'gray' })
    }
  })
  return { labels: Array.from({ length: classes }, (_, k) => k === 0 ? 'background' : `shape_${k}`), images }
}
