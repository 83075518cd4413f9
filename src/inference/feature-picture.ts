import { pcaToRgb } from '../image/pca.js'
import type { InputGeometry } from './geometry.js'
import { resampleBilinear, samplingFor, type PlanarMap } from './resample.js'

/** The first three principal components of a feature map as RGB, resampled onto the original image's pixels. */
export function featurePicture (map: PlanarMap, geometry: InputGeometry): { rgb: Uint8Array, width: number, height: number } {
  const { width, height } = geometry.original
  const resampled = resampleBilinear(pcaPlanes(map), samplingFor(geometry, map.width, map.height), width, height)
  const plane = width * height
  const rgb = new Uint8Array(3 * plane)
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(resampled[c * plane + i])
  }
  return { rgb, width, height }
}

/** The first three principal components as three planes of 0..255 values at the map's resolution. */
export function pcaPlanes (map: PlanarMap): PlanarMap {
  const cells = map.width * map.height
  const interleaved = pcaToRgb(map.data, map.planes, cells)
  const planes = new Float32Array(3 * cells)
  for (let i = 0; i < cells; i++) {
    for (let c = 0; c < 3; c++) planes[c * cells + i] = interleaved[i * 3 + c]
  }
  return { data: planes, planes: 3, width: map.width, height: map.height }
}
