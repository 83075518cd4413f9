import { photoJpeg } from '../fixtures.js'
import { table } from '../markdown.js'
import { startService } from '../service-process.js'
import { round } from '../stats.js'
import { ortSettings } from '../ort-settings.js'
import { postImageOk, rawWindowMemory, tiledServiceEnv, type RawWindowMemory, windowCount, type TiledAnswer } from '../tiled-request.js'

export interface GrowthRow {
  side: number
  megapixels: number
  windows: number
  answer: TiledAnswer
  /** A one-window (1024²) request timed in the same process just before: a reference that drifts with the machine. */
  adjacentWindowMs: number
  jpegBytes: number
  baselineRssMiB: number
  peakRssMiB: number
}

export interface TiledGrowth {
  tile: number
  overlap: number
  rows: GrowthRow[]
  /** A bare ONNX Runtime process that runs one window once: what one window costs any process. */
  rawWindow: RawWindowMemory
}

/**
 * Tiled /segment at growing sizes, each in a FRESH service process so that each VmHWM is that size's peak alone.
 * Each process first answers two 1024² requests (one window: every size's window shape): the first so that ONNX
 * Runtime's first-run allocations are not timed, the second timed as a one-window reference beside the big request.
 * Their own peak is the smallest of all.
 */
export async function tiledGrowth (model: string, options: { sides: number[], env: Record<string, string>, log: (message: string) => void }): Promise<TiledGrowth> {
  const tiling = { tile: 1024, overlap: 128 }
  const maxTile = Number(options.env.DENSE_MAX_SIDE ?? 1024)
  const warmBody = await photoJpeg(tiling.tile, tiling.tile)
  const rows: GrowthRow[] = []
  for (const side of options.sides) {
    const windows = windowCount(model, side, tiling, maxTile)
    options.log(`  ${side}×${side}: ${windows} windows`)
    const body = await photoJpeg(side, side)
    const service = await startService({ MODEL: model, ...tiledServiceEnv, ...options.env })
    const url = `${service.url}/segment?tile=${tiling.tile}&overlap=${tiling.overlap}`
    try {
      const baselineRssMiB = service.rssMiB()
      await postImageOk(url, warmBody)
      const adjacent = await postImageOk(url, warmBody)
      const answer = await postImageOk(url, body)
      rows.push({ side, megapixels: side * side / 1e6, windows, answer, adjacentWindowMs: adjacent.ms, jpegBytes: body.length, baselineRssMiB, peakRssMiB: service.peakRssMiB() })
    } finally {
      await service.stop()
    }
  }
  return { ...tiling, rows, rawWindow: await rawWindowMemory(model, tiling.tile, ortSettings(options.env).threads) }
}

export function renderGrowth (g: TiledGrowth): string[] {
  // The single-window time is the one-window request's: what a window costs inside a whole request.
  const single = g.rows.find((r) => r.windows === 1)
  const singleMs = single?.answer.ms ?? NaN
  const first = g.rows[0]
  const last = g.rows[g.rows.length - 1]
  const growth = (f: (r: GrowthRow) => number): string => round(f(last) / f(first), 2).toString()
  return [
    `## Cost growth of tiled /segment (tile=${g.tile}, overlap=${g.overlap})`,
    '',
    'Photo-like JPEGs, one request per size, each in a fresh service process (warmed with one one-window request); peak RSS is ' +
      'that process\'s VmHWM from /proc. "÷ windows" is the request time over windows × the one-window time ' +
      `(${single === undefined ? 'no one-window size in this run' : `${round(singleMs / 1000, 2)} s, from the ${single.side}² request`}); ` +
      '"÷ adjacent" uses instead a one-window request timed in the same process just before, which drifts with the machine as the big request does.',
    '',
    ...table(
      ['image', 'MP', 'windows', 'windows / MP', 'time s', 's / window', 's / MP', '÷ windows', '÷ adjacent', 'RSS before MiB', 'peak RSS MiB', 'peak − before MiB'],
      'lrrrrrrrrrrr',
      g.rows.map((r) => [
        `${r.side}×${r.side}`, round(r.megapixels, 1), r.windows, round(r.windows / r.megapixels, 2), round(r.answer.ms / 1000, 1),
        round(r.answer.ms / 1000 / r.windows, 2), round(r.answer.ms / 1000 / r.megapixels, 2), round(r.answer.ms / (r.windows * singleMs), 3),
        round(r.answer.ms / (r.windows * r.adjacentWindowMs), 3), Math.round(r.baselineRssMiB), Math.round(r.peakRssMiB), Math.round(r.peakRssMiB - r.baselineRssMiB)
      ])
    ),
    '',
    `From ${first.side}² to ${last.side}²: pixels ×${growth((r) => r.megapixels)}, windows ×${growth((r) => r.windows)}, ` +
      `time ×${growth((r) => r.answer.ms)}, peak RSS ×${growth((r) => r.peakRssMiB)} (above the idle process: ` +
      `×${growth((r) => r.peakRssMiB - r.baselineRssMiB)}).`,
    '',
    `Windows per megapixel: ${g.rows.map((r) => `${round(r.windows / r.megapixels, 2)} at ${r.side}²`).join(', ')}. With a stride of ` +
      `${g.tile - g.overlap} px (tile − overlap) they tend to ${round(1e6 / (g.tile - g.overlap) ** 2, 2)} for large images; a one-window ` +
      'image has no overlap, and the last window of each row and column is shifted inside the image, overlapping its neighbour more ' +
      '(most at 2048², where three windows cover two tiles\' width). So windows grow faster than pixels from the one-window size on, ' +
      'and time, which follows windows, does too. ' +
      (last.peakRssMiB / first.peakRssMiB < Math.sqrt(last.megapixels / first.megapixels)
        ? 'Peak RSS grows far slower than pixels: most of it is the working memory of one window, which every size has (the one-window row).'
        : 'Peak RSS grows about as fast as pixels or faster: the whole-image maps, not the window, dominate it.') +
      ` A bare ONNX Runtime process running one ${g.tile}² window once goes from ${Math.round(g.rawWindow.beforeMiB)} to ` +
      `${Math.round(g.rawWindow.peakMiB)} MiB: ${Math.round(g.rawWindow.peakMiB - g.rawWindow.beforeMiB)} MiB for one window's activations.`,
    ...(last.side >= 8192
      ? ['', `Targets for ${last.side}². "Peak well under 1.5 GB RSS": the peak is ${round(last.peakRssMiB * 2 ** 20 / 1e9, 2)} GB ` +
        `(${round(last.peakRssMiB / 1024, 2)} GiB), ${last.peakRssMiB * 2 ** 20 < 1.5e9 ? 'under' : 'over'} 1.5 GB, ` +
        `of which the idle service is ${Math.round(last.baselineRssMiB)} MiB and one window's activations about ` +
        `${Math.round(g.rawWindow.peakMiB - g.rawWindow.beforeMiB)} MiB. "Time close to the sum of its ` +
        `windows": ÷ windows ${round(last.answer.ms / (last.windows * singleMs), 3)}, ` +
        `÷ adjacent ${round(last.answer.ms / (last.windows * last.adjacentWindowMs), 3)} (1 is exactly the sum).`]
      : ['', `This run stopped at ${last.side}²; the 8192² target (peak well under 1.5 GB RSS, time close to the sum of its windows) needs the full run.`]),
    ''
  ]
}
