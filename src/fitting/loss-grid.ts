import type { InputGeometry } from '../inference/geometry.js'
import { samplingFor } from '../inference/resample.js'

/** Loss points per patch along each axis: the loss sees the mask at 4× the patch grid, not at every pixel. */
export const LOSS_POINTS_PER_PATCH = 4

/**
 * Where the loss looks: a subset of the original image's pixels (every pixel when the image is small) and the
 * bilinear interpolation from the patch grid onto them — the very weights /segment and /depth use for those pixels,
 * so the trained head is scored as it will be served.
 */
export interface LossGrid {
  /** Original pixel rows and columns sampled. */
  rowPixels: Int32Array
  columnPixels: Int32Array
  /** [H', h] and [w, W']: logits on the loss grid = rows · map · columns. */
  rows: Float32Array
  columns: Float32Array
  gridHeight: number
  gridWidth: number
}

export function lossGrid (geometry: InputGeometry, gridHeight: number, gridWidth: number): LossGrid {
  const { width, height } = geometry.original
  const sampling = samplingFor(geometry, gridWidth, gridHeight)
  const rowPixels = spread(height, Math.min(height, LOSS_POINTS_PER_PATCH * gridHeight))
  const columnPixels = spread(width, Math.min(width, LOSS_POINTS_PER_PATCH * gridWidth))
  const rows = interpolation(rowPixels, gridHeight, sampling.stepY)
  const columnsByPixel = interpolation(columnPixels, gridWidth, sampling.stepX)
  // Stored [w, W'] so that it multiplies from the right.
  const columns = new Float32Array(gridWidth * columnPixels.length)
  for (let i = 0; i < columnPixels.length; i++) {
    for (let j = 0; j < gridWidth; j++) columns[j * columnPixels.length + i] = columnsByPixel[i * gridWidth + j]
  }
  return { rowPixels, columnPixels, rows, columns, gridHeight, gridWidth }
}

/** `count` pixel indices spread evenly over `length`, each at the centre of its share. */
function spread (length: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => Math.min(length - 1, Math.floor((i + 0.5) * length / count)))
}

/** [pixels, source]: for each pixel, the two source cells and their weights, as resample.ts's taps compute them. */
function interpolation (pixels: Int32Array, sourceLength: number, step: number): Float32Array {
  const matrix = new Float32Array(pixels.length * sourceLength)
  pixels.forEach((pixel, i) => {
    const source = Math.min(Math.max((pixel + 0.5) * step - 0.5, 0), sourceLength - 1)
    const low = Math.floor(source)
    const high = Math.min(low + 1, sourceLength - 1)
    const weight = source - low
    matrix[i * sourceLength + low] += 1 - weight
    matrix[i * sourceLength + high] += weight
  })
  return matrix
}

/** The target's values at the loss grid's pixels, row-major [H', W']. */
export function sampleTarget<T extends Float32Array> (data: ArrayLike<number>, width: number, grid: LossGrid, out: T): T {
  const w = grid.columnPixels.length
  grid.rowPixels.forEach((row, i) => {
    const base = row * width
    for (let j = 0; j < w; j++) out[i * w + j] = data[base + grid.columnPixels[j]]
  })
  return out
}
