import type { TokenOutput } from './batcher.js'

/**
 * The time a request's images spent in the model: the union of their batches' runs. Images that shared a batch count
 * its time once, and batches that ran at once on different instances count their overlap once.
 */
export function inferenceSpan (outputs: TokenOutput[]): number {
  const runs = [...new Map(outputs.map((o) => [o.tokens.buffer, { start: o.startedAt, end: o.startedAt + o.inferenceMs }])).values()]
    .sort((a, b) => a.start - b.start)
  let total = 0
  let reached = -Infinity
  for (const { start, end } of runs) {
    total += Math.max(0, end - Math.max(start, reached))
    reached = Math.max(reached, end)
  }
  return total
}
