/**
 * Percentiles as numpy.percentile computes them by default (linear): the value at rank p/100 · (n − 1) of the
 * sorted values, interpolated between the two nearest ranks.
 */
export function percentileOfSorted (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  return interpolate((rank) => sorted[rank], sorted.length, p)
}

/**
 * The same from a histogram of integer values (bin i holds the count of value `offset + i`): exact, in memory
 * bounded by the value range instead of the pixel count.
 */
export function percentileOfHistogram (counts: Float64Array, offset: number, p: number): number {
  let total = 0
  for (const c of counts) total += c
  if (total === 0) return NaN
  const cumulative = new Float64Array(counts.length)
  let sum = 0
  for (let i = 0; i < counts.length; i++) cumulative[i] = (sum += counts[i])
  const valueAt = (rank: number): number => {
    // The first bin whose cumulative count passes the rank.
    let low = 0
    let high = counts.length - 1
    while (low < high) {
      const middle = (low + high) >> 1
      if (cumulative[middle] > rank) high = middle
      else low = middle + 1
    }
    return offset + low
  }
  return interpolate(valueAt, total, p)
}

function interpolate (valueAt: (rank: number) => number, n: number, p: number): number {
  const rank = (p / 100) * (n - 1)
  const low = Math.floor(rank)
  const high = Math.min(low + 1, n - 1)
  const a = valueAt(low)
  return a + (valueAt(high) - a) * (rank - low)
}
