import { applyPalette } from './palette.js'
import { encodeGray16, encodeGray8 } from './png.js'

/** A 1-channel label PNG, pixel = class index: 8-bit up to 256 classes, 16-bit beyond. */
export function labelPng (labels: Uint8Array | Uint16Array, width: number, height: number, classes: number): Buffer {
  if (classes <= 256) {
    const bytes = labels instanceof Uint8Array ? labels : Uint8Array.from(labels)
    return encodeGray8(bytes, width, height, { classes: String(classes) })
  }
  const wide = labels instanceof Uint16Array ? labels : Uint16Array.from(labels)
  return encodeGray16(wide, width, height, { classes: String(classes) })
}

/** The picture with each pixel tinted by its class colour: out = (1 − α)·image + α·colour. */
export function overlayPicture (image: Uint8Array, labels: Uint8Array | Uint16Array, palette: Uint8Array, alpha = 0.5): Uint8Array {
  const colours = applyPalette(labels, palette)
  const out = new Uint8Array(image.length)
  for (let i = 0; i < image.length; i++) out[i] = Math.round((1 - alpha) * image[i] + alpha * colours[i])
  return out
}
