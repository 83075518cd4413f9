import { decodeRgb, readHeader } from '../../../src/image/decode.js'
import { denseGeometry, embedGeometry } from '../../../src/inference/geometry.js'
import { readModelFolder } from '../../../src/inference/model-folder.js'
import { normalisationTable, toPixelTensor } from '../../../src/inference/normalize.js'
import { photoJpeg } from '../fixtures.js'
import { round, summarise, type LatencySummary } from '../stats.js'

export interface PreprocessingTimes {
  megapixels: number
  bytes: number
  /** Header, decode with the processor's resize to 224², normalisation: the /embed path. */
  embed: LatencySummary
  /** Header, decode scaled to the 1024 px dense cap, normalisation and padding: the /features path. */
  dense: LatencySummary
}

/** Preprocessing of a 12-megapixel JPEG, as the service does it, in this process. */
export async function preprocessingTimes (model: string, runs: number): Promise<PreprocessingTimes> {
  const folder = readModelFolder(model, 'fp32')
  const table = normalisationTable(folder.processor)
  const jpeg = await photoJpeg(4000, 3000)
  const decodeOptions = { maxPixels: 150_000_000 }
  const time = async (prepare: () => Promise<unknown>): Promise<LatencySummary> => {
    const samples: number[] = []
    for (let i = 0; i < runs + 1; i++) {
      const started = performance.now()
      await prepare()
      if (i > 0) samples.push(performance.now() - started)
    }
    return summarise(samples)
  }
  const embed = await time(async () => {
    const header = await readHeader(jpeg, decodeOptions)
    const { plan, geometry } = embedGeometry(header, folder.processor, folder.config.patchSize)
    toPixelTensor(await decodeRgb(jpeg, header, plan, decodeOptions), table, geometry.padded)
  })
  const dense = await time(async () => {
    const header = await readHeader(jpeg, decodeOptions)
    const { plan, geometry } = denseGeometry(header, { kind: 'native' }, 1024, folder.config.patchSize, folder.processor.kernel)
    toPixelTensor(await decodeRgb(jpeg, header, plan, decodeOptions), table, geometry.padded)
  })
  return { megapixels: 12, bytes: jpeg.length, embed, dense }
}

export function renderPreprocessing (p: PreprocessingTimes): string[] {
  return [
    '## Preprocessing a 12-megapixel JPEG',
    '',
    `A 4000×3000 JPEG (${round(p.bytes / 1e6, 2)} MB): header, decode with sharp/libvips, resize, normalisation into the model tensor.`,
    '',
    '| path | p50 ms | p95 ms |',
    '|---|---:|---:|',
    `| /embed (processor resize to 224×224) | ${round(p.embed.p50)} | ${round(p.embed.p95)} |`,
    `| /features (native, capped to 1024 px long side) | ${round(p.dense.p50)} | ${round(p.dense.p95)} |`,
    ''
  ]
}
