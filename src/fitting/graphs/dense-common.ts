import { int, ints, type ElementType, type GraphBuilder } from '../../synthetic/onnx-builder.js'

/**
 * The dense training graphs' shared inputs: features [B, C, h, w] (float16 when they were spilled to disk), the
 * per-channel statistics of the training features, and the two interpolation matrices that bring the patch grid to
 * the loss grid (rows [H', h], columns [w, W']), so that bilinear upsampling is two MatMuls.
 */
export function denseInputs (g: GraphBuilder, channels: number, featureType: ElementType): { normalised: string, rows: string, columns: string } {
  let features = g.input('features', featureType, ['batch', channels, 'grid_height', 'grid_width'])
  if (featureType !== 'float32') features = g.op1('Cast', [features], { to: int(1) })
  const mean = g.input('feature_mean', 'float32', [1, channels, 1, 1])
  const invStd = g.input('feature_inv_std', 'float32', [1, channels, 1, 1])
  const rows = g.input('rows', 'float32', ['loss_height', 'grid_height'])
  const columns = g.input('columns', 'float32', ['grid_width', 'loss_width'])
  return { normalised: g.op1('Mul', [g.op1('Sub', [features, mean]), invStd]), rows, columns }
}

/** [B, K, h, w] → [B, K, H', W'] by the fixed interpolation matrices. */
export const upsample = (g: GraphBuilder, map: string, rows: string, columns: string): string =>
  g.op1('MatMul', [g.op1('MatMul', [rows, map]), columns])

/** The adjoint of upsample: a gradient on the loss grid back onto the patch grid. */
export const downsampleGradient = (g: GraphBuilder, gradient: string, rows: string, columns: string): string =>
  g.op1('MatMul', [g.op1('MatMul', [g.op1('Transpose', [rows]), gradient]), g.op1('Transpose', [columns])])

/** A 1×1 convolution with weight [K, C] and bias [K]. */
export const conv1x1 = (g: GraphBuilder, input: string, weight: string, bias: string, outputs: number, channels: number): string =>
  g.op1('Conv', [input, g.op1('Reshape', [weight, g.int64s('conv_shape', [outputs, channels, 1, 1])]), bias], { kernel_shape: ints([1, 1]) })

/** Gradients of a 1×1 convolution's weight [K, C] and bias [K] from the gradient of its output [B, K, h, w]. */
export function conv1x1Gradients (g: GraphBuilder, input: string, outputGradient: string): { weight: string, bias: string } {
  const flat = g.int64s('flat', [0, 0, -1])
  const perBatch = g.op1('MatMul', [
    g.op1('Reshape', [outputGradient, flat]),
    g.op1('Transpose', [g.op1('Reshape', [input, flat])], { perm: ints([0, 2, 1]) })
  ])
  return {
    weight: g.op1('ReduceSum', [perBatch, g.int64s('batch_axis', [0])], { keepdims: int(0) }),
    bias: g.op1('ReduceSum', [outputGradient, g.int64s('bias_axes', [0, 2, 3])], { keepdims: int(0) })
  }
}

/** The exported head folds the training features' normalisation into the conv: W' = W/σ, b' = b − W'·μ. */
export function foldNormalisation (weight: Float32Array, bias: Float32Array, mean: Float32Array, invStd: Float32Array): { weight: Float32Array, bias: Float32Array } {
  const channels = mean.length
  const outputs = bias.length
  const folded = new Float32Array(weight.length)
  const shifted = Float32Array.from(bias)
  for (let k = 0; k < outputs; k++) {
    let shift = 0
    for (let c = 0; c < channels; c++) {
      const w = weight[k * channels + c] * invStd[c]
      folded[k * channels + c] = w
      shift += w * mean[c]
    }
    shifted[k] -= shift
  }
  return { weight: folded, bias: shifted }
}
