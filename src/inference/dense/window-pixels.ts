import type { RgbImage } from '../../image/decode.js'
import type { Size } from '../geometry.js'
import type { Origin } from './window-plan.js'

/**
 * One window of the decoded image as normalised CHW floats; where the window reaches past the image (into the
 * canvas's patch padding) it is 0, the same padding an untiled pass uses.
 */
export function windowPixels (image: RgbImage, table: Float32Array[], origin: Origin, window: Size): Float32Array {
  const out = new Float32Array(3 * window.width * window.height)
  const plane = window.width * window.height
  const rows = Math.min(window.height, image.height - origin.y)
  const columns = Math.min(window.width, image.width - origin.x)
  for (let c = 0; c < 3; c++) {
    const lut = table[c]
    for (let y = 0; y < rows; y++) {
      const target = c * plane + y * window.width
      let source = ((origin.y + y) * image.width + origin.x) * 3 + c
      for (let x = 0; x < columns; x++, source += 3) out[target + x] = lut[image.data[source]]
    }
  }
  return out
}
