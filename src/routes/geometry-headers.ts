import { padding, type InputGeometry } from '../inference/geometry.js'

/** How the first image's answer maps onto it, for clients reading binary bodies. */
export function describeGeometry (geometry: InputGeometry, patch: number): Record<string, string> {
  const { original, padded } = geometry
  const { padding_right: right, padding_bottom: bottom } = padding(geometry)
  return {
    'x-patch-grid': `${padded.height / patch}x${padded.width / patch}`,
    'x-input-size': `${original.width}x${original.height}`,
    'x-model-input-size': `${padded.width}x${padded.height}`,
    'x-model-input-padding': `right=${right},bottom=${bottom}`
  }
}
