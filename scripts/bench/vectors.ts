export function cosine (a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`vectors of lengths ${a.length} and ${b.length}`)
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return dot / Math.sqrt(na * nb)
}

export function maxAbsDifference (a: ArrayLike<number>, b: ArrayLike<number>): { max: number, mean: number } {
  if (a.length !== b.length) throw new Error(`arrays of lengths ${a.length} and ${b.length}`)
  let max = 0
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i])
    sum += d
    if (d > max) max = d
  }
  return { max, mean: sum / a.length }
}

/** The CLS embedding (pool=cls, not normalised) of one image from a running service. */
export async function serviceCls (url: string, jpeg: Buffer): Promise<number[]> {
  const res = await fetch(`${url}/embed?pool=cls&normalize=false&format=json`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } })
  if (!res.ok) throw new Error(`/embed answered ${res.status}: ${await res.text()}`)
  const { embeddings } = await res.json() as { embeddings: number[][] }
  return embeddings[0]
}
