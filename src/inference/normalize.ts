import type { RgbPixels } from '../image/decode.js'
import type { Point, Size } from './geometry.js'
import type { Processor } from './processor.js'

/** Per channel, the normalised value of each of the 256 byte values: one lookup per sample instead of arithmetic. */
export function normalisationTable (processor: Processor): Float32Array[] {
  return [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) =>
    (v * processor.rescaleFactor - processor.mean[c]) / processor.std[c]))
}

/** The three channels' tables end to end (3 × 256 floats): the form the native JPEG decoder reads them in. */
export function flatTables (tables: Float32Array[]): Float32Array {
  return Float32Array.from(tables.flatMap((lut) => [...lut]))
}

/**
 * HWC bytes → CHW floats: the `padded` region of the image whose top-left is at `origin` (the whole image by
 * default; a tiling window otherwise). Where the region reaches past the image it is 0 after normalisation (the
 * dataset mean), which is what a model sees at the border of a padded crop in training.
 */
export function toPixelTensor (
  image: RgbPixels,
  table: Float32Array[],
  padded: Size,
  out: Float32Array = new Float32Array(3 * padded.width * padded.height),
  origin: Point = { x: 0, y: 0 }
): Float32Array {
  const { data, width } = image
  const plane = padded.width * padded.height
  const rows = Math.min(padded.height, image.height - origin.y)
  const columns = Math.min(padded.width, width - origin.x)
  if (rows !== padded.height || columns !== padded.width) out.fill(0)
  const [red, green, blue] = table
  // One pass over the interleaved bytes, writing the three planes: a third of the reads of a pass per channel.
  for (let y = 0; y < rows; y++) {
    let source = ((origin.y + y) * width + origin.x) * 3
    const start = y * padded.width
    const end = start + columns
    for (let i = start; i < end; i++, source += 3) {
      out[i] = red[data[source]]
      out[plane + i] = green[data[source + 1]]
      out[2 * plane + i] = blue[data[source + 2]]
    }
  }
  return out
}
