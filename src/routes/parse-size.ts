import { badRequest } from '../errors.js'
import type { DenseSize } from '../inference/geometry.js'

/** `native`, or a long side between one patch and the dense cap (the model never runs larger than the cap). */
export function parseDenseSize (value: string | undefined, patch: number, maxSide: number): DenseSize {
  if (value === undefined || value === 'native') return { kind: 'native' }
  const pixels = Number(value)
  if (!Number.isInteger(pixels) || pixels < patch || pixels > maxSide) {
    throw badRequest(`size=${value} is out of range: use native or a long side from ${patch} to ${maxSide} pixels`)
  }
  return { kind: 'long-side', pixels }
}
