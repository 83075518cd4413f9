import type { LinearWeights, NormWeights } from './backbone-weights.js'
import type { ConvNextSpec } from './convnext-spec.js'
import { SeededRandom } from './random.js'

export interface ConvWeights {
  /** [out, in / groups, k, k], as Conv takes it. */
  weight: Float32Array
  bias: Float32Array
  dims: number[]
}

/** DwConv 7×7, then channels-last LayerNorm, Linear 4C, GELU, Linear C, layer scale; added to the input. */
export interface ConvNextBlockWeights {
  depthwise: ConvWeights
  norm: NormWeights
  fc1: LinearWeights
  fc2: LinearWeights
  layerScale: Float32Array
}

/** Stage 0 downsamples with the stem (conv 4×4/4, then norm); later stages norm, then conv 2×2/2. */
export interface ConvNextStageWeights {
  norm: NormWeights
  downsample: ConvWeights
  blocks: ConvNextBlockWeights[]
}

export interface ConvNextWeights {
  stages: ConvNextStageWeights[]
  /** Over every token, the pooled one included. */
  finalNorm: NormWeights
}

/** Random weights scaled so activations stay near unit variance; layer scales well above DINOv3's 1e-6 init, so blocks matter. */
export function makeConvNextWeights (spec: ConvNextSpec, seed: number): ConvNextWeights {
  const random = new SeededRandom(seed)
  const conv = (outputs: number, inputs: number, kernel: number, gain = 1): ConvWeights => ({
    weight: random.normalArray(outputs * inputs * kernel * kernel, gain / Math.sqrt(inputs * kernel * kernel)),
    bias: random.normalArray(outputs, 0.02),
    dims: [outputs, inputs, kernel, kernel]
  })
  const linear = (inputs: number, outputs: number, gain = 1): LinearWeights => ({
    weight: random.normalArray(inputs * outputs, gain / Math.sqrt(inputs)),
    bias: random.normalArray(outputs, 0.02),
    inputs,
    outputs
  })
  const norm = (c: number): NormWeights => ({ gamma: random.normalArray(c, 0.05, 1), beta: random.normalArray(c, 0.02) })
  const stages = spec.hiddenSizes.map((c, i): ConvNextStageWeights => {
    const previous = i === 0 ? 3 : spec.hiddenSizes[i - 1]
    return {
      norm: norm(i === 0 ? c : previous),
      downsample: conv(c, previous, i === 0 ? 4 : 2),
      blocks: Array.from({ length: spec.depths[i] }, () => ({
        depthwise: conv(c, 1, 7),
        norm: norm(c),
        fc1: linear(c, 4 * c),
        fc2: linear(4 * c, c, 0.5),
        layerScale: random.normalArray(c, 0.1, 0.5)
      }))
    }
  })
  return { stages, finalNorm: norm(spec.hiddenSizes[spec.hiddenSizes.length - 1]) }
}
