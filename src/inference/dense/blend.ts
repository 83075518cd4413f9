import { badRequest } from '../../errors.js'
import type { PlanarMap } from '../resample.js'
import type { Origin, WindowPlan } from './window-plan.js'

/**
 * Weight of each map cell of a window along one axis: 1 inside, ramping down over the overlap towards an edge that
 * another window continues past, so that overlapping windows cross-fade (unlike a plain average, which steps where a
 * window ends). The ramp is a smoothstep, whose mirror image completes it to 1 as a linear ramp's does, but whose
 * slope is 0 at both ends: a window's weight has no kink where another window's border lies (measured in
 * test/routes/tiling-seams.test.ts, and in the README). Edges on the canvas border keep full weight.
 */
export function blendProfile (cells: number, rampCells: number, taperStart: boolean, taperEnd: boolean): Float32Array {
  const profile = new Float32Array(cells).fill(1)
  if (rampCells <= 0) return profile
  for (let i = 0; i < cells; i++) {
    if (taperStart) profile[i] = Math.min(profile[i], smoothstep((i + 0.5) / rampCells))
    if (taperEnd) profile[i] = Math.min(profile[i], smoothstep((cells - i - 0.5) / rampCells))
  }
  return profile
}

/** 3t² − 2t³ on [0, 1]: smoothstep(t) + smoothstep(1 − t) = 1. */
function smoothstep (t: number): number {
  const x = Math.min(1, Math.max(0, t))
  return x * x * (3 - 2 * x)
}

/** A window map's shape, which the canvas is made for and checked against. */
export type MapShape = Omit<PlanarMap, 'data'>

/** What blending needs of the window plan: plain numbers, so that it travels to a post-processing thread. */
export type BlendPlan = Pick<WindowPlan, 'canvas' | 'window' | 'overlap'>

/**
 * One target's blend in progress over the whole canvas, at the maps' own resolution (a patch grid or a head's
 * output), never at full image resolution: memory grows with the map, not with the pixels. Plain data, so that a
 * post-processing thread can blend into it (map-accumulator.ts).
 */
export interface BlendCanvas {
  /** Weighted sums, [planes, height, width]. */
  sums: Float32Array
  /** The weights summed per cell, [height, width]. */
  weights: Float32Array
  planes: number
  width: number
  height: number
  /** Map cells per canvas pixel: a window's map width over the window's width. */
  scale: number
}

const notScaling = (): Error => badRequest('this head\'s output does not scale with its input, which tiling needs; call it without tile')

/**
 * An empty canvas for maps shaped like `map` (the first window's); 400 when the map does not scale with the window.
 * `shared`: in shared memory, where pool threads blend into it in place.
 */
export function newCanvas (plan: BlendPlan, map: MapShape, shared = false): BlendCanvas {
  const scale = map.width / plan.window.width
  const width = plan.canvas.width * scale
  const height = plan.canvas.height * scale
  if (!Number.isInteger(width) || !Number.isInteger(height) || map.height !== plan.window.height * scale) throw notScaling()
  const floats = (length: number): Float32Array => shared ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length)
  return {
    sums: floats(map.planes * width * height),
    weights: floats(width * height),
    planes: map.planes,
    width,
    height,
    scale
  }
}

/** 400 unless a window's map lands on whole cells of the canvas with the canvas's planes and scale. */
export function checkWindow (canvas: Omit<BlendCanvas, 'sums' | 'weights'>, plan: BlendPlan, map: MapShape, origin: Origin): void {
  const { scale } = canvas
  if (!Number.isInteger(origin.x * scale) || !Number.isInteger(origin.y * scale) || map.width !== plan.window.width * scale ||
    map.height !== plan.window.height * scale || map.planes !== canvas.planes) throw notScaling()
}

/** Adds one window's map into the canvas, each cell weighted by the window's blend profile on both axes. */
export function blendWindow (canvas: BlendCanvas, plan: BlendPlan, map: PlanarMap, origin: Origin): void {
  checkWindow(canvas, plan, map, origin)
  const { sums, weights, width, height, scale } = canvas
  const x0 = origin.x * scale
  const y0 = origin.y * scale
  const ramp = plan.overlap * scale
  const wx = blendProfile(map.width, ramp, origin.x > 0, origin.x + plan.window.width < plan.canvas.width)
  const wy = blendProfile(map.height, ramp, origin.y > 0, origin.y + plan.window.height < plan.canvas.height)
  for (let y = 0; y < map.height; y++) {
    const row = (y0 + y) * width + x0
    for (let x = 0; x < map.width; x++) weights[row + x] += wy[y] * wx[x]
  }
  const plane = width * height
  const mapPlane = map.width * map.height
  for (let k = 0; k < canvas.planes; k++) {
    for (let y = 0; y < map.height; y++) {
      const row = k * plane + (y0 + y) * width + x0
      const source = k * mapPlane + y * map.width
      const w = wy[y]
      for (let x = 0; x < map.width; x++) sums[row + x] += map.data[source + x] * w * wx[x]
    }
  }
}

/** The blended map: the sums divided by the weights in place, so the canvas's buffer becomes its data (no copy). */
export function finishCanvas (canvas: BlendCanvas): PlanarMap {
  const { sums, weights, planes, width, height } = canvas
  const plane = width * height
  for (let k = 0; k < planes; k++) {
    for (let i = 0; i < plane; i++) sums[k * plane + i] /= weights[i]
  }
  return { data: sums, planes, width, height }
}
