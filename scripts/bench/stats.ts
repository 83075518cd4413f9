export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export interface LatencySummary {
  p50: number
  p95: number
  p99: number
  mean: number
}

export function summarise (samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length
  }
}

export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits
