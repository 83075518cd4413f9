import type { TokenOutput } from './batcher.js'

export type Pooling = 'cls' | 'mean' | 'cls+mean'

/** Index of the first patch token: after the CLS token and the register tokens. */
export const firstPatchToken = (registers: number): number => 1 + registers

/**
 * CLS (row 0), the mean of the patch tokens (registers excluded), or both concatenated — the pair
 * DINOv3's linear probes use.
 */
export function poolTokens (output: TokenOutput, registers: number, pooling: Pooling, normalize: boolean): Float32Array {
  const { tokens, tokenCount, channels } = output
  const cls = tokens.subarray(0, channels)
  const mean = (): Float32Array => {
    const sums = new Float64Array(channels)
    const first = firstPatchToken(registers)
    for (let t = first; t < tokenCount; t++) {
      const row = t * channels
      for (let c = 0; c < channels; c++) sums[c] += tokens[row + c]
    }
    return Float32Array.from(sums, (s) => s / (tokenCount - first))
  }
  let vector: Float32Array
  if (pooling === 'cls') vector = Float32Array.from(cls)
  else if (pooling === 'mean') vector = mean()
  else {
    vector = new Float32Array(2 * channels)
    vector.set(cls, 0)
    vector.set(mean(), channels)
  }
  return normalize ? l2Normalize(vector) : vector
}

export function l2Normalize (vector: Float32Array): Float32Array {
  let norm = 0
  for (const v of vector) norm += v * v
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm
  return vector
}

/** The patch tokens as a channel-major map [C, h, w], which is what dense heads and numpy users expect. */
export function patchGrid (output: Pick<TokenOutput, 'tokens' | 'tokenCount' | 'channels'>, registers: number, gridHeight: number, gridWidth: number): Float32Array {
  const { tokens, tokenCount, channels } = output
  const cells = gridHeight * gridWidth
  const first = firstPatchToken(registers)
  if (tokenCount - first !== cells) {
    throw new Error(`expected ${cells} patch tokens for a ${gridHeight}×${gridWidth} grid, got ${tokenCount - first}`)
  }
  const grid = new Float32Array(channels * cells)
  for (let cell = 0; cell < cells; cell++) {
    const row = (first + cell) * channels
    for (let c = 0; c < channels; c++) grid[c * cells + cell] = tokens[row + c]
  }
  return grid
}
