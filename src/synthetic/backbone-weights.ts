import type { BackboneSpec } from './backbone-spec.js'
import { SeededRandom } from './random.js'

export interface LinearWeights {
  /** [in, out], as MatMul takes it. */
  weight: Float32Array
  bias: Float32Array
  inputs: number
  outputs: number
}

export interface NormWeights {
  gamma: Float32Array
  beta: Float32Array
}

export interface BlockWeights {
  norm1: NormWeights
  qkv: LinearWeights
  proj: LinearWeights
  norm2: NormWeights
  fc1: LinearWeights
  fc2: LinearWeights
}

export interface BackboneWeights {
  patchWeight: Float32Array
  patchBias: Float32Array
  clsToken: Float32Array
  registerTokens: Float32Array
  /** Sinusoidal position code over normalised patch coordinates, so features depend on where a patch is. */
  positionFreqY: Float32Array
  positionFreqX: Float32Array
  positionPhase: Float32Array
  blocks: BlockWeights[]
  finalNorm: NormWeights
}

/** Random weights scaled so activations stay near unit variance through any depth. */
export function makeBackboneWeights (spec: BackboneSpec, seed: number): BackboneWeights {
  const random = new SeededRandom(seed)
  const c = spec.hiddenSize
  const p = spec.patchSize
  const linear = (inputs: number, outputs: number, gain = 1): LinearWeights => ({
    weight: random.normalArray(inputs * outputs, gain / Math.sqrt(inputs)),
    bias: random.normalArray(outputs, 0.02),
    inputs,
    outputs
  })
  const norm = (): NormWeights => ({ gamma: random.normalArray(c, 0.05, 1), beta: random.normalArray(c, 0.02) })
  const uniformArray = (length: number, low: number, high: number): Float32Array =>
    Float32Array.from({ length }, () => low + (high - low) * random.uniform())

  return {
    patchWeight: random.normalArray(c * 3 * p * p, 1 / Math.sqrt(3 * p * p)),
    patchBias: random.normalArray(c, 0.02),
    clsToken: random.normalArray(c, 1),
    registerTokens: random.normalArray(spec.registers * c, 1),
    positionFreqY: uniformArray(c, -Math.PI, Math.PI),
    positionFreqX: uniformArray(c, -Math.PI, Math.PI),
    positionPhase: uniformArray(c, 0, 2 * Math.PI),
    blocks: Array.from({ length: spec.depth }, () => ({
      norm1: norm(),
      qkv: linear(c, 3 * c),
      proj: linear(c, c, 0.5),
      norm2: norm(),
      fc1: linear(c, spec.mlpRatio * c),
      fc2: linear(spec.mlpRatio * c, c, 0.5)
    })),
    finalNorm: norm()
  }
}
