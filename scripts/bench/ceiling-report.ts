import type { CeilingComparison } from './against-ceiling.js'
import { describeEnv, table } from './markdown.js'
import { inferenceInstances } from './ort-settings.js'
import { round } from './stats.js'

/** The Markdown of one endpoint-against-ceiling comparison; `input` says what the requests carry. */
export function renderCeiling (c: CeilingComparison, text: { input: string, targets: string }): string[] {
  const best = c.service.reduce((a, b) => (b.ratio > a.ratio ? b : a))
  const single = c.service.find((r) => r.concurrency === 1)
  return [
    `## ${c.path.split('?')[0]} against the raw ONNX Runtime ceiling at ${c.size}×${c.size}`,
    '',
    `Ceiling: ${ceilingSessions(c.env)}, same threads and spinning as the service, tensors made ` +
      `before the clock, ${c.size}×${c.size}. Batch sweep: ${Object.entries(c.rawByBatch).map(([b, v]) => `${b}: ${round(v)} img/s`).join(', ')}; ` +
      `the best batch (${c.bestBatch}) is the ceiling.`,
    '',
    `Service: POST ${c.path} over HTTP (keep-alive, closed loop; the client runs in its own process at the lowest CPU priority, ` +
      `standing for clients on other machines) with ${text.input}, decoded and normalised per request. Settings: ${describeEnv(c.env)}. ` +
      `Before the first row it serves ${c.warmupSeconds} s at concurrency ${Math.max(...c.service.map((r) => r.concurrency))}, unmeasured, ` +
      'as a service that has run a while would have: its JavaScript compiled, its batch sizer settled. ' +
      `Ceiling and service alternate in ${c.rounds} windows each per row, and each ratio divides the sums, so the drift of a ` +
      'shared machine falls on both sides alike. "Windows, min–max" gives each service window over the ceiling window just ' +
      'before it: how far one row\'s ratio can move on this machine.',
    '',
    'CPU: the CPU time per image of the ceiling (the benchmark process, while only it runs) and of the service process ' +
      '(the same model, plus HTTP, decoding and normalising), and the cores busy machine-wide in each one\'s windows ' +
      `(of ${c.service[0]?.cpu.cpus ?? NaN}). "At most" is what the service would reach against the measured ceiling if it ` +
      'kept every core busy at its CPU time per image: where the ceiling already keeps the cores busy, the service\'s ' +
      'extra CPU per image is throughput it cannot have.',
    '',
    ...table(
      ['concurrency', 'img/s', 'ceiling img/s', '× ceiling', 'windows, min–max', 'p50 ms', 'p95 ms', 'p99 ms', 'mean decode / preprocess / queue / inference ms',
        'CPU ms per image, ceiling / service', 'busy cores, ceiling / service', '× ceiling at most'],
      'rrrrlrrrlllr',
      c.service.map(({ concurrency, result, raw, ratio, windowRatios, cpu }) => {
        const t = result.serverTimings
        const timing = ['x-decode-time', 'x-preprocess-time', 'x-queue-time', 'x-inference-time'].map((h) => round(t[h] ?? NaN)).join(' / ')
        return [concurrency, round(result.throughput), round(raw), round(ratio, 3),
          `${round(Math.min(...windowRatios), 2)}–${round(Math.max(...windowRatios), 2)}`, round(result.latency.p50), round(result.latency.p95), round(result.latency.p99), timing,
          `${round(cpu.ceilingMsPerImage)} / ${round(cpu.serviceMsPerImage)}`, `${round(cpu.ceilingBusyCores, 2)} / ${round(cpu.serviceBusyCores, 2)}`, round(cpu.ratioBound, 3)]
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

/** The raw sessions a ceiling ran: one in the benchmark process, or one per inference instance, side by side. */
function ceilingSessions (env: Record<string, string>): string {
  const instances = inferenceInstances(env)
  return instances > 1
    ? `${instances} ONNX Runtime sessions (as the service's ${instances} inference instances), each on a thread of its own, running at once`
    : 'one ONNX Runtime session in the benchmark process'
}
