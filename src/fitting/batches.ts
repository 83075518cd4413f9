import type { InputGeometry } from '../inference/geometry.js'
import { SeededRandom } from '../synthetic/random.js'

/** Images that can share a training batch: same input geometry, hence the same grid and interpolation matrices. */
export const geometryKey = (g: InputGeometry): string =>
  `${g.original.width}x${g.original.height}/${g.content.width}x${g.content.height}/${g.padded.width}x${g.padded.height}`

/** One epoch's batches: each group shuffled and cut into batches, then the batches shuffled across groups. */
export function epochBatches (groups: number[][], batchSize: number, random: SeededRandom): number[][] {
  const batches: number[][] = []
  for (const group of groups) {
    const order = shuffle([...group], random)
    for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize))
  }
  return shuffle(batches, random)
}

export function batchesPerEpoch (groups: number[][], batchSize: number): number {
  return groups.reduce((sum, group) => sum + Math.ceil(group.length / batchSize), 0)
}

export function groupBy<T> (items: T[], key: (item: T) => string): number[][] {
  const groups = new Map<string, number[]>()
  items.forEach((item, i) => {
    const k = key(item)
    groups.set(k, [...(groups.get(k) ?? []), i])
  })
  return [...groups.values()]
}

export function shuffle<T> (items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
