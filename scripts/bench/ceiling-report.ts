import type { CeilingComparison } from './against-ceiling.js'
import { describeEnv, table } from './markdown.js'
import { round } from './stats.js'

/** The Markdown of one endpoint-against-ceiling comparison; `input` says what the requests carry. */
export function renderCeiling (c: CeilingComparison, text: { input: string, targets: string }): string[] {
  const best = c.service.reduce((a, b) => (b.ratio > a.ratio ? b : a))
  const single = c.service.find((r) => r.concurrency === 1)
  return [
    `## ${c.path.split('?')[0]} against the raw ONNX Runtime ceiling at ${c.size}×${c.size}`,
    '',
    'Ceiling: one ONNX Runtime session in the benchmark process, same threads and spinning as the service, tensors made ' +
      `before the clock, ${c.size}×${c.size}. Batch sweep: ${Object.entries(c.rawByBatch).map(([b, v]) => `${b}: ${round(v)} img/s`).join(', ')}; ` +
      `the best batch (${c.bestBatch}) is the ceiling.`,
    '',
    `Service: POST ${c.path} over HTTP (keep-alive, closed loop; the client runs in its own process at the lowest CPU priority, ` +
      `standing for clients on other machines) with ${text.input}, decoded and normalised per request. Settings: ${describeEnv(c.env)}. ` +
      `Ceiling and service alternate in ${c.rounds} windows each per row, and each ratio divides the sums, so the drift of a ` +
      'shared machine falls on both sides alike.',
    '',
    ...table(
      ['concurrency', 'img/s', 'ceiling img/s', '× ceiling', 'p50 ms', 'p95 ms', 'p99 ms', 'mean decode / preprocess / queue / inference ms'],
      'rrrrrrrl',
      c.service.map(({ concurrency, result, raw, ratio }) => {
        const t = result.serverTimings
        const timing = ['x-decode-time', 'x-preprocess-time', 'x-queue-time', 'x-inference-time'].map((h) => round(t[h] ?? NaN)).join(' / ')
        return [concurrency, round(result.throughput), round(raw), round(ratio, 3), round(result.latency.p50), round(result.latency.p95), round(result.latency.p99), timing]
      })
    ),
    '',
    `Best: ${round(best.ratio, 3)}× the ceiling at concurrency ${best.concurrency}. ` +
      (single === undefined
        ? ''
        : `Latency at concurrency 1: p50 ${round(single.result.latency.p50)} ms against ${round(c.rawSingle.p50)} ms for one raw run, ` +
          `${round(c.latencyOverheadMs)} ms more. `) +
      text.targets,
    ''
  ]
}
