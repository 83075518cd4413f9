import type { DenseImage } from '../inference/dense/dense-image.js'

/** How the first image's answer maps onto it, for clients reading binary bodies. */
export function describeGeometry (image: DenseImage, patch: number): Record<string, string> {
  const { original, content, padded } = image.geometry
  return {
    'x-patch-grid': `${padded.height / patch}x${padded.width / patch}`,
    'x-input-size': `${original.width}x${original.height}`,
    'x-model-input-size': `${padded.width}x${padded.height}`,
    'x-model-input-padding': `right=${padded.width - content.width},bottom=${padded.height - content.height}`
  }
}
