import type { LoopbackClient } from '../stress/scenarios/loopback-client.js'

export interface LivenessReport {
  maxWaitMs: number
  polls: number
  failures: number
}

/**
 * Polls /health/live every 20 ms over a real socket, on a connection of its own: the wait is the larger of a slow
 * answer and a late poll.
 */
export function pollLiveness (client: LoopbackClient): { stop: () => Promise<LivenessReport> } {
  let running = true
  let maxWaitMs = 0
  let polls = 0
  let failures = 0
  const loop = (async () => {
    let previous = performance.now()
    while (running) {
      const answer = await client.send('/health/live', { timeoutMs: 60_000 })
      if (answer.status !== 200) failures += 1
      const now = performance.now()
      maxWaitMs = Math.max(maxWaitMs, answer.ms, now - previous - 20 - answer.ms)
      polls += 1
      await new Promise((resolve) => setTimeout(resolve, 20))
      previous = performance.now()
    }
  })()
  return { stop: async () => { running = false; await loop; return { maxWaitMs, polls, failures } } }
}
