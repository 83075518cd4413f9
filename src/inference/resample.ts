import type { InputGeometry } from './geometry.js'

/**
 * Where each pixel of the original image falls on a map that covers the padded model input (a patch grid, or a
 * head's output of any size): the content was scaled by content/original, and the map spans padded pixels.
 * Pixel centres map as in PyTorch's interpolate with align_corners=False.
 */
export interface MapSampling {
  /** Map cells per original pixel, horizontally and vertically. */
  stepX: number
  stepY: number
}

export function samplingFor (geometry: InputGeometry, mapWidth: number, mapHeight: number): MapSampling {
  return {
    stepX: (geometry.content.width / geometry.original.width) * (mapWidth / geometry.padded.width),
    stepY: (geometry.content.height / geometry.original.height) * (mapHeight / geometry.padded.height)
  }
}

/** For each output coordinate: the two source cells and the weight of the second. */
interface Taps {
  low: Int32Array
  high: Int32Array
  weight: Float32Array
}

function taps (outputLength: number, sourceLength: number, step: number): Taps {
  const low = new Int32Array(outputLength)
  const high = new Int32Array(outputLength)
  const weight = new Float32Array(outputLength)
  for (let i = 0; i < outputLength; i++) {
    const source = Math.min(Math.max((i + 0.5) * step - 0.5, 0), sourceLength - 1)
    const lo = Math.floor(source)
    low[i] = lo
    high[i] = Math.min(lo + 1, sourceLength - 1)
    weight[i] = source - lo
  }
  return { low, high, weight }
}

function rowTaps (outputLength: number, sourceLength: number, step: number, range: RowRange | undefined): Taps {
  const all = taps(outputLength, sourceLength, step)
  if (range === undefined) return all
  const end = range.top + range.height
  return { low: all.low.subarray(range.top, end), high: all.high.subarray(range.top, end), weight: all.weight.subarray(range.top, end) }
}

export interface PlanarMap {
  /** [planes, height, width] */
  data: Float32Array
  planes: number
  width: number
  height: number
}

/** Output rows top..top+height of an output outHeight tall: large outputs are made band by band (GeoTIFF tiles). */
export interface RowRange { top: number, height: number }

/**
 * Bilinear resampling of every plane onto the original image's pixels: [planes, outHeight, outWidth] (or the rows
 * asked), into `out` where the caller has a buffer for it.
 */
export function resampleBilinear (
  map: PlanarMap,
  sampling: MapSampling,
  outWidth: number,
  outHeight: number,
  range?: RowRange,
  out?: Float32Array
): Float32Array {
  const columns = taps(outWidth, map.width, sampling.stepX)
  const rows = rowTaps(outHeight, map.height, sampling.stepY, range)
  outHeight = rows.low.length
  out ??= new Float32Array(map.planes * outWidth * outHeight)
  const mapPlane = map.width * map.height
  const row = new Float32Array(map.width)
  for (let k = 0; k < map.planes; k++) {
    const source = map.data.subarray(k * mapPlane, (k + 1) * mapPlane)
    const target = k * outWidth * outHeight
    for (let y = 0; y < outHeight; y++) {
      blendRows(source, map.width, rows.low[y], rows.high[y], rows.weight[y], row)
      const base = target + y * outWidth
      for (let x = 0; x < outWidth; x++) {
        const a = row[columns.low[x]]
        out[base + x] = a + (row[columns.high[x]] - a) * columns.weight[x]
      }
    }
  }
  return out
}

/**
 * Label map at the original size: logits resampled bilinearly, then the argmax per pixel — never an upsampled
 * label grid. One row of interpolated logits is held at a time, so memory stays at the size of the map.
 */
export function resampleArgmax (map: PlanarMap, sampling: MapSampling, outWidth: number, outHeight: number, range?: RowRange): Uint8Array | Uint16Array {
  const columns = taps(outWidth, map.width, sampling.stepX)
  const rows = rowTaps(outHeight, map.height, sampling.stepY, range)
  outHeight = rows.low.length
  const labels = map.planes > 256 ? new Uint16Array(outWidth * outHeight) : new Uint8Array(outWidth * outHeight)
  const mapPlane = map.width * map.height
  const blended = new Float32Array(map.planes * map.width)
  const best = new Float32Array(outWidth)
  for (let y = 0; y < outHeight; y++) {
    for (let k = 0; k < map.planes; k++) {
      blendRows(map.data.subarray(k * mapPlane, (k + 1) * mapPlane), map.width, rows.low[y], rows.high[y], rows.weight[y],
        blended.subarray(k * map.width, (k + 1) * map.width))
    }
    best.fill(-Infinity)
    const base = y * outWidth
    for (let k = 0; k < map.planes; k++) {
      const plane = k * map.width
      for (let x = 0; x < outWidth; x++) {
        const a = blended[plane + columns.low[x]]
        const value = a + (blended[plane + columns.high[x]] - a) * columns.weight[x]
        if (value > best[x]) {
          best[x] = value
          labels[base + x] = k
        }
      }
    }
  }
  return labels
}

function blendRows (plane: Float32Array, width: number, low: number, high: number, weight: number, out: Float32Array): void {
  const a = low * width
  const b = high * width
  for (let x = 0; x < width; x++) out[x] = plane[a + x] + (plane[b + x] - plane[a + x]) * weight
}
