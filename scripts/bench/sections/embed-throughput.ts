import { endpointAgainstCeiling, type CeilingComparison } from '../against-ceiling.js'
import { renderCeiling } from '../ceiling-report.js'
import { photoJpeg } from '../fixtures.js'
import { round } from '../stats.js'

export type EmbedThroughput = CeilingComparison

/** /embed on a 500×375 JPEG (the processor resizes it to 224²) against the raw session at 224². */
export async function embedThroughput (model: string, options: { seconds: number, rounds: number, warmupSeconds: number, concurrencies: number[], batches: number[], env: Record<string, string> }): Promise<EmbedThroughput> {
  return endpointAgainstCeiling(model, { path: '/embed', body: await photoJpeg(500, 375), contentType: 'image/jpeg', size: 224, ...options })
}

export function renderEmbed (embed: EmbedThroughput): string[] {
  const atEight = embed.service.find((r) => r.concurrency === 8)
  return renderCeiling(embed, {
    input: 'a 500×375 JPEG, resized to 224×224 by the processor',
    targets: (atEight === undefined
      ? 'Targets: ≥ 0.95× the ceiling at concurrency 8 (not measured in this run)'
      : `Targets: ≥ 0.95× the ceiling at concurrency 8 (${atEight.ratio >= 0.95 ? 'met' : 'missed'} in this run: ${round(atEight.ratio, 3)}, ` +
        `windows ${round(Math.min(...atEight.windowRatios), 2)}–${round(Math.max(...atEight.windowRatios), 2)}, ` +
        `at most ${round(atEight.cpu.ratioBound, 3)} from CPU time)`) +
      (Number.isFinite(embed.latencyOverheadMs) ? `, ≤ 10 ms over the raw latency (${embed.latencyOverheadMs <= 10 ? 'met' : 'missed'}, ${round(embed.latencyOverheadMs)} ms).` : '.')
  })
}
