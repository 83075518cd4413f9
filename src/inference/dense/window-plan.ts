import { badRequest } from '../../errors.js'
import { roundUpTo, type Point, type Size } from '../geometry.js'

export interface Tiling {
  tile: number
  overlap: number
}

/** A window's top-left on the canvas, in pixels. */
export type Origin = Point

/**
 * Windows over the image padded to the patch grid (the canvas): every window the same size, origins on the patch
 * grid, the last window of each row and column shifted inside the canvas (as in the official sliding inference)
 * instead of hanging over it.
 */
export interface WindowPlan {
  canvas: Size
  window: Size
  origins: Origin[]
  /** The overlap the blend ramps over, in pixels (the shifted last windows overlap more). */
  overlap: number
}

/**
 * Checks `tile` and `overlap` (400 with the valid range), rounds them onto the patch grid and lays out the windows.
 * A tile larger than the image gives one window: the untiled answer at native resolution.
 */
export function planWindows (image: Size, tiling: Tiling, patch: number, maxTile: number): WindowPlan {
  const { tile, overlap } = tiling
  if (!Number.isInteger(tile) || tile < patch || tile > maxTile) {
    throw badRequest(`tile=${tile} is out of range: use ${patch} to ${maxTile} pixels (a multiple of the patch size ${patch} is used as is; others are rounded down)`)
  }
  const window = Math.floor(tile / patch) * patch
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > window - patch) {
    throw badRequest(`overlap=${overlap} is out of range for tile=${tile}: use 0 to ${window - patch} pixels (less than the tile by at least one patch)`)
  }
  const roundedOverlap = Math.min(roundUpTo(overlap, patch), window - patch)
  const canvas = { width: roundUpTo(image.width, patch), height: roundUpTo(image.height, patch) }
  const size = { width: Math.min(window, canvas.width), height: Math.min(window, canvas.height) }
  const step = window - roundedOverlap
  const xs = axisOrigins(canvas.width, size.width, step)
  const ys = axisOrigins(canvas.height, size.height, step)
  return { canvas, window: size, origins: ys.flatMap((y) => xs.map((x) => ({ x, y }))), overlap: roundedOverlap }
}

function axisOrigins (length: number, window: number, step: number): number[] {
  if (length <= window) return [0]
  const origins: number[] = []
  for (let origin = 0; origin + window < length; origin += step) origins.push(origin)
  origins.push(length - window)
  return origins
}
