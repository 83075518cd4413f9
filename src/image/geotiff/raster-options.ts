import { badRequest } from '../../errors.js'

/**
 * How raster values become the 8-bit RGB the model takes: `percentile` maps each band's low..high percentile
 * (nodata excluded) onto 0..255, `range` maps fixed values (in the band's own unit) onto 0..255, `none` takes
 * the values as they are, clamped to 0..255 (8-bit bands unchanged).
 */
export type Stretch =
  | { kind: 'percentile', low: number, high: number }
  | { kind: 'range', min: number, max: number }
  | { kind: 'none' }

export interface RasterOptions {
  /** 1-based band numbers for R, G, B (or one band, shown grey). */
  bands?: number[]
  stretch?: Stretch
}

/** The stretch of bands that are not 8-bit when none is asked for: GDAL's and QGIS's usual 2–98 % cumulative cut. */
export const DEFAULT_STRETCH: Stretch = { kind: 'percentile', low: 2, high: 98 }

const NUMBER = '[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?'
const PERCENTILES = new RegExp(`^p(${NUMBER}),p(${NUMBER})$`)
const RANGE = new RegExp(`^(${NUMBER}),(${NUMBER})$`)

/** `p2,p98` (percentiles), `0,3000` (values), `none`. */
export function parseStretch (text: string | undefined): Stretch | undefined {
  if (text === undefined) return undefined
  if (text === 'none') return { kind: 'none' }
  const percentiles = PERCENTILES.exec(text)
  if (percentiles !== null) {
    const low = Number(percentiles[1])
    const high = Number(percentiles[2])
    if (!(low >= 0 && high <= 100 && low < high)) {
      throw badRequest(`stretch=${text}: percentiles need 0 <= low < high <= 100, as in stretch=p2,p98`)
    }
    return { kind: 'percentile', low, high }
  }
  const range = RANGE.exec(text)
  if (range !== null) {
    const min = Number(range[1])
    const max = Number(range[2])
    if (!(Number.isFinite(min) && Number.isFinite(max) && min < max)) {
      throw badRequest(`stretch=${text}: a value range needs min < max, as in stretch=0,3000`)
    }
    return { kind: 'range', min, max }
  }
  throw badRequest(`stretch=${text} is not a stretch; use percentiles (stretch=p2,p98), values (stretch=0,3000) or none`)
}

/** `3,2,1` or `4`: one or three 1-based band numbers. Whether they exist is checked against the file. */
export function parseBands (text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined
  if (!/^[0-9]{1,5}(,[0-9]{1,5})*$/.test(text)) {
    throw badRequest(`bands=${text} is not a list of band numbers; use three 1-based bands for R,G,B (bands=3,2,1) or one (bands=4)`)
  }
  const bands = text.split(',').map(Number)
  if (bands.length !== 1 && bands.length !== 3) {
    throw badRequest(`bands=${text} names ${bands.length} bands; name three (R,G,B, as in bands=3,2,1) or one (shown grey)`)
  }
  if (bands.some((b) => b < 1)) throw badRequest(`bands=${text}: bands are numbered from 1`)
  return bands
}

export function parseRasterOptions (query: { bands?: string, stretch?: string }): RasterOptions {
  return { bands: parseBands(query.bands), stretch: parseStretch(query.stretch) }
}
