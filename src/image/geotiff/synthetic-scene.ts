import { writeTiledTiff, type TiffChunks } from './tiff-writer.js'

/**
 * A synthetic GeoTIFF scene for examples and benchmarks: parcels of one cover each between roads (which deflate
 * well, so that a 20000 × 20000 scene fits the default body limit), a nodata border, georeferenced in WGS 84 / UTM zone 33N at 0.5 m per pixel. Written tile row
 * by tile row, so that a 20000 × 20000 scene costs a tile row of memory, not the scene.
 */
export interface SceneOptions {
  width: number
  height: number
  /** 3 (uint8 RGB) or 4 (uint16 surface-reflectance-like values up to 4000: blue, green, red, near infrared). */
  bands: 3 | 4
  /** Nodata border width in pixels (value 0 in every band). */
  border: number
  tileSize?: number
}

/** GeoKeys: projected, pixel is area, EPSG:32633 (GTModelType, GTRasterType, ProjectedCSType). */
export const UTM33N_KEYS = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633]

export async function writeScene (options: SceneOptions): Promise<TiffChunks> {
  const { width, height, bands, border } = options
  const sixteen = bands === 4
  return writeTiledTiff({
    width,
    height,
    samples: bands,
    type: sixteen ? 'uint16' : 'uint8',
    tileSize: options.tileSize ?? 512,
    nodata: '0',
    geo: { pixelScale: [0.5, 0.5, 0], tiepoint: [0, 0, 0, 500000, 4000000, 0], keyDirectory: UTM33N_KEYS }
  }, (top, rows) => {
    const out = sixteen ? new Uint16Array(width * rows * bands) : new Uint8Array(width * rows * bands)
    const full = sixteen ? 4000 : 255
    for (let r = 0; r < rows; r++) {
      const y = top + r
      for (let x = 0; x < width; x++) {
        if (x < border || y < border || x >= width - border || y >= height - border) continue
        const i = (r * width + x) * bands
        // Parcels of 240 × 180 pixels, each of one cover, with 12-pixel roads between them.
        const road = x % 240 < 12 || y % 180 < 12
        const cover = road ? 7 : ((Math.floor(x / 240) * 73856093) ^ (Math.floor(y / 180) * 19349663)) >>> 0
        for (let b = 0; b < bands; b++) {
          out[i + b] = Math.max(1, Math.round(full * (road ? 0.6 : 0.15 + 0.7 * (((cover >>> (b * 5)) & 31) / 31))))
        }
      }
    }
    return out
  })
}
