import { float32ToFloat16 } from '../inference/float16.js'
import type { BackboneSpec } from './backbone-spec.js'
import type { BackboneWeights, LinearWeights, NormWeights } from './backbone-weights.js'
import { float, GraphBuilder, int, ints } from './onnx-builder.js'

/**
 * fp32: as exported. fp16: weights and inputs/outputs in half precision (compute stays fp32, so any CPU runs it).
 * quantized: dynamic int8 quantization of every weight matrix, the pattern onnxruntime's quantize_dynamic writes.
 */
export type SyntheticPrecision = 'fp32' | 'fp16' | 'quantized'

/**
 * plain: attention as MatMul, Softmax, MatMul, as PyTorch exports it (what hub exports such as onnx-community's
 * contain): it materialises the [heads, N, N] score matrix, 400 MB per layer for a 1024² window of ViT-S.
 * fused: onnxruntime's com.microsoft MultiHeadAttention, what its transformer optimizer writes: same numbers,
 * memory linear in N.
 */
export type SyntheticAttention = 'plain' | 'fused'

/** ONNX's element type codes, for Cast. */
export const FLOAT = 1
export const FLOAT16 = 10

/**
 * A ViT with DINOv3's interface: `pixel_values` [B,3,H,W] (any multiple of the patch) in,
 * `last_hidden_state` [B, 1+R+h·w, C] (CLS, registers, patches row-major) and `pooler_output` [B,C] out.
 */
export function buildBackboneGraph (spec: BackboneSpec, weights: BackboneWeights, precision: SyntheticPrecision, attention: SyntheticAttention = 'plain'): GraphBuilder {
  const g = new GraphBuilder('synthetic_dinov3', 17)
  const layers = new Layers(g, precision, attention)
  const c = spec.hiddenSize
  const ioType = precision === 'fp16' ? 'float16' : 'float32'

  let pixels = g.input('pixel_values', ioType, ['batch_size', 3, 'height', 'width'])
  if (precision === 'fp16') pixels = g.op1('Cast', [pixels], { to: int(FLOAT) })

  const p = spec.patchSize
  const grid = g.op1('Conv', [
    pixels,
    layers.floatWeight('patch_embed.weight', weights.patchWeight, [c, 3, p, p]),
    layers.floatWeight('patch_embed.bias', weights.patchBias, [c])
  ], { kernel_shape: ints([p, p]), strides: ints([p, p]) })
  const flat = g.op1('Reshape', [grid, g.int64s('grid_to_rows', [0, c, -1])])
  const patches = g.op1('Add', [g.op1('Transpose', [flat], { perm: ints([0, 2, 1]) }), positionCode(g, layers, grid, weights, c)])

  const batch = g.op1('Shape', [pixels], { start: int(0), end: int(1) })
  const expandToBatch = (name: string, data: Float32Array, rows: number): string => {
    const shape = g.op1('Concat', [batch, g.int64s(`${name}_rows`, [rows, c])], { axis: int(0) })
    return g.op1('Expand', [layers.floatWeight(name, data, [1, rows, c]), shape])
  }
  const prefix = [expandToBatch('cls_token', weights.clsToken, 1)]
  if (spec.registers > 0) prefix.push(expandToBatch('register_tokens', weights.registerTokens, spec.registers))
  let x = g.op1('Concat', [...prefix, patches], { axis: int(1) })

  for (const block of weights.blocks) {
    const attention = layers.attention(layers.layerNorm(x, block.norm1), block.qkv, block.proj, spec.heads, c)
    x = g.op1('Add', [x, attention])
    const hidden = layers.gelu(layers.linear(layers.layerNorm(x, block.norm2), block.fc1))
    x = g.op1('Add', [x, layers.linear(hidden, block.fc2)])
  }

  const tokens = ['batch_size', 'tokens', c]
  const pooledShape = ['batch_size', c]
  if (precision === 'fp16') {
    const normed = layers.layerNorm(x, weights.finalNorm)
    g.op1('Cast', [normed], { to: int(FLOAT16) }, 'last_hidden_state')
    g.op1('Cast', [g.op1('Gather', [normed, g.weight('cls_index', BigInt64Array.of(0n), [])], { axis: int(1) })], { to: int(FLOAT16) }, 'pooler_output')
  } else {
    const normed = layers.layerNorm(x, weights.finalNorm, 'last_hidden_state')
    g.op1('Gather', [normed, g.weight('cls_index', BigInt64Array.of(0n), [])], { axis: int(1) }, 'pooler_output')
  }
  g.output('last_hidden_state', ioType, tokens)
  g.output('pooler_output', ioType, pooledShape)
  return g
}

/** sin(y·fy + x·fx + φ) over patch centres normalised to [-1, 1]: defined at any grid size, like RoPE's coordinates. */
function positionCode (g: GraphBuilder, layers: Layers, grid: string, weights: BackboneWeights, c: number): string {
  const shape = g.op1('Shape', [grid])
  const axisCoordinates = (axis: number): string => {
    const length = g.op1('Gather', [shape, g.weight(`grid_axis_${axis}`, BigInt64Array.of(BigInt(axis)), [])], { axis: int(0) })
    const steps = g.op1('Cast', [g.op1('Range', [
      g.weight('zero', BigInt64Array.of(0n), []), length, g.weight('one', BigInt64Array.of(1n), [])
    ])], { to: int(FLOAT) })
    const centres = g.op1('Div', [g.op1('Add', [steps, g.scalar('half', 0.5)]), g.op1('Cast', [length], { to: int(FLOAT) })])
    return g.op1('Sub', [g.op1('Mul', [centres, g.scalar('two', 2)]), g.scalar('one_f', 1)])
  }
  const ys = g.op1('Unsqueeze', [axisCoordinates(2), g.int64s('column_axis', [1])])
  const xs = g.op1('Unsqueeze', [axisCoordinates(3), g.int64s('row_axis', [0])])
  const zero = g.scalar('zero_f', 0)
  const toColumn = (values: string): string => g.op1('Reshape', [values, g.int64s('column', [-1, 1])])
  const yGrid = toColumn(g.op1('Add', [ys, g.op1('Mul', [xs, zero])]))
  const xGrid = toColumn(g.op1('Add', [xs, g.op1('Mul', [ys, zero])]))
  const angle = g.op1('Add', [
    g.op1('Add', [
      g.op1('Mul', [yGrid, layers.floatWeight('pos_freq_y', weights.positionFreqY, [1, c])]),
      g.op1('Mul', [xGrid, layers.floatWeight('pos_freq_x', weights.positionFreqX, [1, c])])
    ]),
    layers.floatWeight('pos_phase', weights.positionPhase, [1, c])
  ])
  return g.op1('Sin', [angle])
}

/** The layer vocabulary of a ViT (and of a ConvNeXt block's channels-last part), written once for every precision. */
export class Layers {
  constructor (private readonly g: GraphBuilder, private readonly precision: SyntheticPrecision, private readonly attentionForm: SyntheticAttention) {}

  floatWeight (name: string, data: Float32Array, dims: number[]): string {
    if (this.precision !== 'fp16') return this.g.weight(name, data, dims)
    return this.g.op1('Cast', [this.g.weight(name, float32ToFloat16(data), dims)], { to: int(FLOAT) })
  }

  layerNorm (x: string, norm: NormWeights, outputName?: string): string {
    const c = norm.gamma.length
    return this.g.op1('LayerNormalization', [
      x, this.floatWeight('norm.gamma', norm.gamma, [c]), this.floatWeight('norm.beta', norm.beta, [c])
    ], { axis: int(-1), epsilon: float(1e-6) }, outputName)
  }

  linear (x: string, w: LinearWeights): string {
    const bias = this.floatWeight('linear.bias', w.bias, [w.outputs])
    if (this.precision !== 'quantized') {
      return this.g.op1('Add', [this.g.op1('MatMul', [x, this.floatWeight('linear.weight', w.weight, [w.inputs, w.outputs])]), bias])
    }
    const { values, scales } = quantizePerColumn(w)
    const [xq, xScale, xZero] = this.g.op('DynamicQuantizeLinear', [x], {}, 3)
    const product = this.g.op1('MatMulInteger', [
      xq, this.g.weight('linear.weight_int8', values, [w.inputs, w.outputs]), xZero, this.g.weight('linear.weight_zero', Int8Array.of(0), [])
    ])
    const scale = this.g.op1('Mul', [xScale, this.g.weight('linear.weight_scale', scales, [w.outputs])])
    return this.g.op1('Add', [this.g.op1('Mul', [this.g.op1('Cast', [product], { to: int(FLOAT) }), scale]), bias])
  }

  gelu (x: string): string {
    const erf = this.g.op1('Erf', [this.g.op1('Div', [x, this.g.scalar('sqrt2', Math.SQRT2)])])
    const gate = this.g.op1('Mul', [this.g.op1('Add', [erf, this.g.scalar('one', 1)]), this.g.scalar('half', 0.5)])
    return this.g.op1('Mul', [x, gate])
  }

  attention (x: string, qkvWeights: LinearWeights, projWeights: LinearWeights, heads: number, c: number): string {
    const g = this.g
    const d = c / heads
    if (this.attentionForm === 'fused') {
      const [q, k, v] = g.op('Split', [this.linear(x, qkvWeights), g.int64s('qkv_split', [c, c, c])], { axis: int(-1) }, 3)
      return this.linear(g.op1('MultiHeadAttention', [q, k, v], { num_heads: int(heads) }, undefined, 'com.microsoft'), projWeights)
    }
    const qkv = g.op1('Transpose', [
      g.op1('Reshape', [this.linear(x, qkvWeights), g.int64s('qkv_heads', [0, 0, 3, heads, d])])
    ], { perm: ints([2, 0, 3, 1, 4]) })
    const pick = (i: number): string => g.op1('Gather', [qkv, g.weight('qkv_index', BigInt64Array.of(BigInt(i)), [])], { axis: int(0) })
    const [q, k, v] = [pick(0), pick(1), pick(2)]
    const scores = g.op1('Mul', [g.op1('MatMul', [q, g.op1('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]), g.scalar('attn_scale', 1 / Math.sqrt(d))])
    const mixed = g.op1('MatMul', [g.op1('Softmax', [scores], { axis: int(-1) }), v])
    const merged = g.op1('Reshape', [g.op1('Transpose', [mixed], { perm: ints([0, 2, 1, 3]) }), g.int64s('merge_heads', [0, 0, c])])
    return this.linear(merged, projWeights)
  }
}

/** Symmetric int8 per output column: scale = max|w| / 127, zero point 0. */
function quantizePerColumn (w: LinearWeights): { values: Int8Array, scales: Float32Array } {
  const scales = new Float32Array(w.outputs)
  for (let i = 0; i < w.inputs; i++) {
    for (let j = 0; j < w.outputs; j++) scales[j] = Math.max(scales[j], Math.abs(w.weight[i * w.outputs + j]))
  }
  for (let j = 0; j < w.outputs; j++) scales[j] = scales[j] / 127 || 1
  const values = new Int8Array(w.weight.length)
  for (let i = 0; i < w.inputs; i++) {
    for (let j = 0; j < w.outputs; j++) values[i * w.outputs + j] = Math.round(w.weight[i * w.outputs + j] / scales[j])
  }
  return { values, scales }
}
