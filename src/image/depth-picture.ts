import { applyColormap } from './colormap.js'
import { encodeGray16, encodeRgb8 } from './png.js'

export interface DepthPng {
  png: Buffer
  /** depth = offset + scale · pixel */
  scale: number
  offset: number
}

/**
 * Depth as a 16-bit PNG using the whole 0..65535 range between the map's minimum and maximum; the mapping back
 * (depth = offset + scale · value) travels in the PNG's text chunks and in the caller's headers.
 */
export function depthPng16 (values: Float32Array, width: number, height: number, min: number, max: number, unit: string): DepthPng {
  const offset = min
  const scale = max > min ? (max - min) / 65535 : 1
  const pixels = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) pixels[i] = Math.round((values[i] - offset) / scale)
  const png = encodeGray16(pixels, width, height, {
    depth_scale: String(scale),
    depth_offset: String(offset),
    depth_unit: unit,
    depth_formula: 'depth = depth_offset + depth_scale * value'
  })
  return { png, scale, offset }
}

/** Depth through the turbo colour map (near = min, far = max), as an RGB PNG. */
export function depthColourPng (values: Float32Array, width: number, height: number, min: number, max: number): Buffer {
  return encodeRgb8(applyColormap(values, min, max, 'turbo'), width, height, { depth_min: String(min), depth_max: String(max) })
}
