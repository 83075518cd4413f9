import type { ImageFileDirectory } from 'geotiff'

/**
 * The georeferencing of a GeoTIFF as its tags hold it: copied as they are onto an output of the same size, they
 * give it the same CRS and geotransform (pixel-is-area or -point included) without interpreting a single key.
 */
export interface GeoReference {
  /** 33550 ModelPixelScaleTag */
  pixelScale?: number[]
  /** 33922 ModelTiepointTag */
  tiepoint?: number[]
  /** 34264 ModelTransformationTag: a rotated or sheared geotransform */
  transformation?: number[]
  /** 34735 GeoKeyDirectoryTag: the CRS */
  keyDirectory?: number[]
  /** 34736 GeoDoubleParamsTag */
  doubleParams?: number[]
  /** 34737 GeoAsciiParamsTag */
  asciiParams?: string
}

const numericTags = {
  pixelScale: 'ModelPixelScale',
  tiepoint: 'ModelTiepoint',
  transformation: 'ModelTransformation',
  keyDirectory: 'GeoKeyDirectory',
  doubleParams: 'GeoDoubleParams'
} as const

/** Undefined for a TIFF without georeferencing. */
export async function readGeoReference (directory: ImageFileDirectory): Promise<GeoReference | undefined> {
  const geo: GeoReference = {}
  for (const [key, tag] of Object.entries(numericTags) as Array<[keyof typeof numericTags, typeof numericTags[keyof typeof numericTags]]>) {
    if (directory.hasTag(tag)) geo[key] = Array.from(await directory.loadValue(tag) as ArrayLike<number>, Number)
  }
  if (directory.hasTag('GeoAsciiParams')) geo.asciiParams = String(await directory.loadValue('GeoAsciiParams'))
  const located = geo.tiepoint !== undefined || geo.transformation !== undefined
  return located || geo.keyDirectory !== undefined ? geo : undefined
}
