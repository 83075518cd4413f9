/** The shape of a synthetic ViT backbone; presets mirror DINOv3's published sizes. */
export interface BackboneSpec {
  hiddenSize: number
  depth: number
  heads: number
  mlpRatio: number
  patchSize: number
  registers: number
}

export const backbonePresets = {
  /** For tests: every endpoint works in milliseconds. */
  tiny: { hiddenSize: 32, depth: 2, heads: 2, mlpRatio: 4, patchSize: 16, registers: 4 },
  /** ViT-S/16: the same matrix sizes as dinov3-vits16, for honest benchmarks. */
  small: { hiddenSize: 384, depth: 12, heads: 6, mlpRatio: 4, patchSize: 16, registers: 4 },
  /** ViT-B/16. */
  base: { hiddenSize: 768, depth: 12, heads: 12, mlpRatio: 4, patchSize: 16, registers: 4 }
} satisfies Record<string, BackboneSpec>

export type BackbonePreset = keyof typeof backbonePresets
