import { badRequest } from '../../errors.js'
import type { Size } from '../geometry.js'
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

/**
 * Blends window maps into one map over the whole canvas, at the maps' own resolution (a patch grid or a head's
 * output), never at full image resolution: memory grows with the map, not with the pixels.
 */
export class MapAccumulator {
  private sums: Float32Array | undefined
  private weights: Float32Array | undefined
  private planes = 0
  private cellsPerPixel = 0
  private size: Size = { width: 0, height: 0 }

  constructor (private readonly plan: WindowPlan) {}

  add (map: PlanarMap, origin: Origin): void {
    if (this.sums === undefined) this.allocate(map)
    const sums = this.sums as Float32Array
    const weights = this.weights as Float32Array
    const scale = this.cellsPerPixel
    const x0 = origin.x * scale
    const y0 = origin.y * scale
    if (!Number.isInteger(x0) || !Number.isInteger(y0) || map.width !== this.plan.window.width * scale || map.planes !== this.planes) {
      throw badRequest('this head\'s output does not scale with its input, which tiling needs; call it without tile')
    }
    const ramp = this.plan.overlap * scale
    const wx = blendProfile(map.width, ramp, origin.x > 0, origin.x + this.plan.window.width < this.plan.canvas.width)
    const wy = blendProfile(map.height, ramp, origin.y > 0, origin.y + this.plan.window.height < this.plan.canvas.height)
    const { width, height } = this.size
    for (let y = 0; y < map.height; y++) {
      const row = (y0 + y) * width + x0
      for (let x = 0; x < map.width; x++) weights[row + x] += wy[y] * wx[x]
    }
    const plane = width * height
    const mapPlane = map.width * map.height
    for (let k = 0; k < this.planes; k++) {
      for (let y = 0; y < map.height; y++) {
        const row = k * plane + (y0 + y) * width + x0
        const source = k * mapPlane + y * map.width
        const w = wy[y]
        for (let x = 0; x < map.width; x++) sums[row + x] += map.data[source + x] * w * wx[x]
      }
    }
  }

  /** The blended map; the accumulator's buffers become its data (no copy). */
  finish (): PlanarMap {
    const sums = this.sums
    const weights = this.weights
    if (sums === undefined || weights === undefined) throw new Error('no window was added')
    const plane = this.size.width * this.size.height
    for (let k = 0; k < this.planes; k++) {
      for (let i = 0; i < plane; i++) sums[k * plane + i] /= weights[i]
    }
    return { data: sums, planes: this.planes, width: this.size.width, height: this.size.height }
  }

  private allocate (map: PlanarMap): void {
    this.planes = map.planes
    this.cellsPerPixel = map.width / this.plan.window.width
    this.size = { width: this.plan.canvas.width * this.cellsPerPixel, height: this.plan.canvas.height * this.cellsPerPixel }
    if (!Number.isInteger(this.size.width) || !Number.isInteger(this.size.height) || map.height !== this.plan.window.height * this.cellsPerPixel) {
      throw badRequest('this head\'s output does not scale with its input, which tiling needs; call it without tile')
    }
    this.sums = new Float32Array(this.planes * this.size.width * this.size.height)
    this.weights = new Float32Array(this.size.width * this.size.height)
  }
}
