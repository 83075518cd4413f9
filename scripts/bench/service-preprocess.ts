import { decodeRgb, readHeader } from '../../src/image/decode.js'
import { embedGeometry } from '../../src/inference/geometry.js'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { normalisationTable, toPixelTensor } from '../../src/inference/normalize.js'

/** The pixel tensor the service's /embed feeds the backbone for one JPEG, made with the service's own functions. */
export async function serviceEmbedPixels (model: string, jpeg: Buffer): Promise<{ data: Float32Array, dims: number[] }> {
  const folder = readModelFolder(model, 'fp32')
  const options = { maxPixels: 150_000_000 }
  const header = await readHeader(jpeg, options)
  const { plan, geometry } = embedGeometry(header, folder.processor, folder.config.patchSize)
  const data = toPixelTensor(await decodeRgb(jpeg, header, plan, options), normalisationTable(folder.processor), geometry.padded)
  return { data, dims: [1, 3, geometry.padded.height, geometry.padded.width] }
}
