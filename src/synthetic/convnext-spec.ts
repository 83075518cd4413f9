import type { BackbonePreset } from './backbone-spec.js'

/**
 * The shape of a synthetic DINOv3 ConvNeXt: the channels and the block count of each stage. The stem divides by 4
 * and each later stage by 2, so four stages give the stride 32 of every published size.
 */
export interface ConvNextSpec {
  hiddenSizes: number[]
  depths: number[]
}

export const convnextPresets = {
  /** For tests: every endpoint works in milliseconds (not ConvNeXt-T, whose widths are those of small). */
  tiny: { hiddenSizes: [24, 48, 96, 192], depths: [1, 1, 2, 1] },
  /** ConvNeXt-S: the same tensor sizes as dinov3-convnext-small, for honest benchmarks. */
  small: { hiddenSizes: [96, 192, 384, 768], depths: [3, 3, 27, 3] },
  /** ConvNeXt-B. */
  base: { hiddenSizes: [128, 256, 512, 1024], depths: [3, 3, 27, 3] }
} satisfies Record<BackbonePreset, ConvNextSpec>

/** Pixels per cell of the final grid: 4 for the stem, 2 for each further stage. */
export const convnextStride = (spec: ConvNextSpec): number => 4 * 2 ** (spec.hiddenSizes.length - 1)

export function checkConvNextSpec (spec: ConvNextSpec): void {
  const whole = (values: number[], min: number): boolean => values.every((v) => Number.isInteger(v) && v >= min)
  if (spec.hiddenSizes.length === 0 || !whole(spec.hiddenSizes, 1)) {
    throw new Error(`hidden sizes must be one whole number ≥ 1 per stage, got [${spec.hiddenSizes.join(', ')}]`)
  }
  if (spec.depths.length !== spec.hiddenSizes.length || !whole(spec.depths, 0)) {
    throw new Error(`depths must be one block count per stage (${spec.hiddenSizes.length}), got [${spec.depths.join(', ')}]`)
  }
}
