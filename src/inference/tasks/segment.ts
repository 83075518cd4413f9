import type { DenseImage } from '../dense/dense-image.js'
import { resampleArgmax, samplingFor, type PlanarMap } from '../resample.js'

export interface LabelMap {
  labels: Uint8Array | Uint16Array
  width: number
  height: number
}

/** Logits resampled bilinearly onto the original image's pixels, then the best class per pixel. */
export function labelMap (image: DenseImage, logits: PlanarMap): LabelMap {
  const { width, height } = image.geometry.original
  return { labels: resampleArgmax(logits, samplingFor(image.geometry, logits.width, logits.height), width, height), width, height }
}

export function classCounts (labels: Uint8Array | Uint16Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0)
  for (let i = 0; i < labels.length; i++) counts[labels[i]] += 1
  return counts
}
