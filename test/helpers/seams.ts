import type { WindowPlan } from '../../src/inference/dense/window-plan.js'

/**
 * Seam strength of a tiled map: the mean |m[i] − m[i−1]| over neighbouring cells on either side of a window border
 * (where a window's own map starts or ends, the canvas edges excepted), over the same mean for all other neighbours,
 * along both axes and over every plane. 1: the borders are no rougher than the rest; a hard cut between windows
 * that see different context scores several times that.
 */
export function seamRatio (data: ArrayLike<number>, planes: number, width: number, height: number, plan: WindowPlan): number {
  const bordersX = windowBorders(plan.origins.map((o) => o.x), plan.window.width, plan.canvas.width, width / plan.canvas.width)
  const bordersY = windowBorders(plan.origins.map((o) => o.y), plan.window.height, plan.canvas.height, height / plan.canvas.height)
  let across = 0
  let acrossCount = 0
  let inside = 0
  let insideCount = 0
  const add = (step: number, border: boolean): void => {
    if (border) {
      across += step
      acrossCount++
    } else {
      inside += step
      insideCount++
    }
  }
  const plane = width * height
  for (let k = 0; k < planes; k++) {
    for (let y = 0; y < height; y++) {
      for (let x = 1; x < width; x++) add(Math.abs(data[k * plane + y * width + x] - data[k * plane + y * width + x - 1]), bordersX.has(x))
    }
    for (let y = 1; y < height; y++) {
      for (let x = 0; x < width; x++) add(Math.abs(data[k * plane + y * width + x] - data[k * plane + (y - 1) * width + x]), bordersY.has(y))
    }
  }
  if (acrossCount === 0) throw new Error('the plan has no window border inside the canvas')
  return (across / acrossCount) / (inside / insideCount)
}

/** Map cells where a window begins or ends, on a map of `scale` cells per canvas pixel (cell i − 1 | cell i). */
function windowBorders (origins: number[], window: number, canvas: number, scale: number): Set<number> {
  const borders = new Set<number>()
  for (const origin of origins) {
    if (origin > 0) borders.add(Math.round(origin * scale))
    if (origin + window < canvas) borders.add(Math.round((origin + window) * scale))
  }
  return borders
}
