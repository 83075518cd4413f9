import { photoJpeg, plainAttentionModel } from '../fixtures.js'
import { mib, table } from '../markdown.js'
import { ortSettings } from '../ort-settings.js'
import { RawSession } from '../raw-session.js'
import { startService } from '../service-process.js'
import { round, summarise } from '../stats.js'
import { postImageOk, rawWindowMemory, tiledServiceEnv, type RawWindowMemory, windowCount, type TiledAnswer } from '../tiled-request.js'

export interface TiledSegment {
  side: number
  tile: number
  overlap: number
  windows: number
  /** One raw 1024² window at batch 1, every run of every round. */
  rawWindowMs: number[]
  requests: TiledAnswer[]
  /** Windows × the mean raw window time. */
  ceilingMs: number
  /** Sum of request times over the sum of ceilings: 1 is the ceiling, above it the overhead. */
  timeRatio: number
  baselineRssMiB: number
  peakRssMiB: number
  /** A bare ONNX Runtime process that runs one window once. */
  rawWindow: RawWindowMemory
  /** The same, with the unfused (plain) attention graph of the same weights. */
  rawWindowPlain: RawWindowMemory
  jpegBytes: number
}

/**
 * Tiled /segment on one big JPEG against its ceiling: the raw session's time for one window (batch 1, as the service
 * runs them with the default TILE_BATCH_PIXELS) times the number of windows the request runs. Raw windows and whole
 * requests alternate round by round, so both sides see the same machine.
 */
export async function tiledSegment (model: string, options: { side: number, rounds: number, rawRunsPerRound: number, env: Record<string, string> }): Promise<TiledSegment> {
  const tiling = { tile: 1024, overlap: 128 }
  const windows = windowCount(model, options.side, tiling, Number(options.env.DENSE_MAX_SIDE ?? 1024))
  const body = await photoJpeg(options.side, options.side)
  const warmBody = await photoJpeg(tiling.tile, tiling.tile)
  const rawWindow = await rawWindowMemory(model, tiling.tile, ortSettings(options.env).threads)
  const rawWindowPlain = await rawWindowMemory(plainAttentionModel(), tiling.tile, ortSettings(options.env).threads)
  const raw = await RawSession.open(model, { size: tiling.tile, ...ortSettings(options.env) })
  // A fresh process, so that its peak RSS is this section's.
  const service = await startService({ MODEL: model, ...tiledServiceEnv, ...options.env })
  const url = `${service.url}/segment?tile=${tiling.tile}&overlap=${tiling.overlap}`
  try {
    const baselineRssMiB = service.rssMiB()
    // The first run at a new shape pays for ONNX Runtime's allocations: a one-window request takes it here.
    await postImageOk(url, warmBody)
    const rawWindowMs: number[] = []
    const requests: TiledAnswer[] = []
    let ceilingSum = 0
    for (let round = 0; round < options.rounds; round++) {
      const times = await raw.times(1, options.rawRunsPerRound)
      rawWindowMs.push(...times)
      ceilingSum += windows * summarise(times).mean
      requests.push(await postImageOk(url, body))
    }
    const requestSum = requests.reduce((s, r) => s + r.ms, 0)
    return {
      side: options.side,
      ...tiling,
      windows,
      rawWindowMs,
      requests,
      ceilingMs: windows * summarise(rawWindowMs).mean,
      timeRatio: requestSum / ceilingSum,
      baselineRssMiB,
      peakRssMiB: service.peakRssMiB(),
      rawWindow,
      rawWindowPlain,
      jpegBytes: body.length
    }
  } finally {
    await service.stop()
    await raw.release()
  }
}

export function renderTiled (t: TiledSegment): string[] {
  const raw = summarise(t.rawWindowMs)
  const mean = (header: string): number => t.requests.reduce((s, r) => s + (r.timings[header] ?? NaN), 0) / t.requests.length
  return [
    `## Tiled /segment on a ${t.side}×${t.side} JPEG against its ceiling`,
    '',
    `POST /segment?tile=${t.tile}&overlap=${t.overlap} with a ${t.side}×${t.side} photo-like JPEG (${round(t.jpegBytes / 1e6, 1)} MB), ` +
      `answered as a label PNG at the input's size. The service's window plan (planWindows) gives ${t.windows} windows of ${t.tile}×${t.tile}. ` +
      `Ceiling: the raw session's time for one ${t.tile}×${t.tile} window at batch 1 (same threads and spinning) × ${t.windows}. ` +
      `Each of ${t.requests.length} request(s) follows ${t.rawWindowMs.length / t.requests.length} raw windows, alternately; the ratio divides the sums. ` +
      'The service runs in a fresh process, warmed with one one-window request.',
    '',
    ...table(['', 'value'], 'lr', [
      ['raw window, mean (p50) ms', `${round(raw.mean)} (${round(raw.p50)})`],
      ['ceiling: windows × raw window, s', round(t.ceilingMs / 1000, 1)],
      ['request, each, s', t.requests.map((r) => round(r.ms / 1000, 1)).join(', ')],
      ['**request ÷ ceiling**', `**${round(t.timeRatio, 3)}**`],
      ['mean decode / preprocess / inference (backbone and head) / postprocess s',
        ['x-decode-time', 'x-preprocess-time', 'x-inference-time', 'x-postprocess-time'].map((h) => round(mean(h) / 1000, 1)).join(' / ')],
      ['service RSS before / peak (VmHWM)', `${mib(t.baselineRssMiB)} / ${mib(t.peakRssMiB)}`],
      [`a bare ONNX Runtime process running one ${t.tile}² window once: RSS before / peak`, `${mib(t.rawWindow.beforeMiB)} / ${mib(t.rawWindow.peakMiB)}`],
      ['the same with plain (unfused) attention, as a PyTorch export has it: RSS before / peak', `${mib(t.rawWindowPlain.beforeMiB)} / ${mib(t.rawWindowPlain.peakMiB)}`]
    ]),
    ''
  ]
}
