import type { DenseImage } from '../dense/dense-image.js'
import { resampleBilinear, samplingFor, type PlanarMap } from '../resample.js'

export interface DepthMap {
  values: Float32Array
  width: number
  height: number
  min: number
  max: number
  mean: number
}

/** The head's depth resampled bilinearly onto the original image's pixels: float32 [H, W]. */
export function depthMap (image: DenseImage, depth: PlanarMap): DepthMap {
  const { width, height } = image.geometry.original
  const values = resampleBilinear(depth, samplingFor(image.geometry, depth.width, depth.height), width, height)
  let min = Infinity
  let max = -Infinity
  let sum = 0
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
    sum += v
  }
  return { values, width, height, min, max, mean: sum / values.length }
}
