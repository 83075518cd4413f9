import { encodePng } from '../../src/image/png.js'
import { SeededRandom } from '../../src/synthetic/random.js'

/** Class names of the scenes: index = mask value. */
export const SCENE_LABELS = ['background', 'red_disc', 'blue_square', 'yellow_stripes']
/** Depth of each class's surface, in metres. */
export const SCENE_DEPTHS = [6, 1.5, 3, 4.5]

export interface Scene {
  png: Buffer
  /** 8-bit label PNG, 255 on a one-pixel ring around each shape (the edge is left unlabelled, as datasets do). */
  mask: Buffer
  /** 16-bit PNG in millimetres. */
  depth: Buffer
  labels: Uint8Array
  metres: Float32Array
  width: number
  height: number
}

/**
 * A textured grey background with large shapes of three classes, each with its own colour, texture and depth:
 * what a linear probe on a random-weight backbone can learn, and a broken trainer cannot fake.
 */
export function scene (seed: number, width = 128, height = 128, only?: number): Scene {
  const random = new SeededRandom(seed * 7919 + 1)
  const rgb = new Uint8Array(width * height * 3)
  const labels = new Uint8Array(width * height)
  for (let i = 0; i < width * height; i++) {
    const noise = Math.floor(random.uniform() * 40)
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = 100 + noise
  }
  const shapes = only === undefined ? [1, 2, 3].filter(() => random.uniform() < 0.8) : [only]
  for (const cls of shapes) {
    const size = Math.floor(Math.min(width, height) * (0.3 + 0.25 * random.uniform()))
    const cx = Math.floor(size / 2 + random.uniform() * (width - size))
    const cy = Math.floor(size / 2 + random.uniform() * (height - size))
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const dx = x - cx
        const dy = y - cy
        const inside = cls === 1 ? dx * dx + dy * dy <= (size / 2) ** 2 : Math.abs(dx) <= size / 2 && Math.abs(dy) <= size / 2
        if (!inside) continue
        const i = y * width + x
        labels[i] = cls
        const jitter = Math.floor(random.uniform() * 20)
        if (cls === 1) { rgb[3 * i] = 220 + jitter; rgb[3 * i + 1] = 30; rgb[3 * i + 2] = 30 }
        if (cls === 2) { rgb[3 * i] = 30; rgb[3 * i + 1] = 40 + jitter; rgb[3 * i + 2] = 210 }
        if (cls === 3) { const stripe = Math.floor((x + y) / 4) % 2 === 0; rgb[3 * i] = stripe ? 240 : 120; rgb[3 * i + 1] = stripe ? 220 : 100; rgb[3 * i + 2] = 20 + jitter }
      }
    }
  }
  const mask = Uint8Array.from(labels)
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x
      if (labels[i] !== labels[i + 1] || labels[i] !== labels[i + width]) mask[i] = 255
    }
  }
  const metres = Float32Array.from(labels, (l) => SCENE_DEPTHS[l])
  const millimetres = Uint16Array.from(metres, (m) => Math.round(m * 1000))
  return {
    png: encodePng({ data: rgb, width, height, colour: 'rgb' }),
    mask: encodePng({ data: mask, width, height, colour: 'gray' }),
    depth: encodePng({ data: millimetres, width, height, colour: 'gray' }),
    labels,
    metres,
    width,
    height
  }
}
