import { FLOAT, FLOAT16, Layers, type SyntheticPrecision } from './backbone-graph.js'
import type { NormWeights } from './backbone-weights.js'
import type { ConvNextSpec } from './convnext-spec.js'
import type { ConvWeights, ConvNextBlockWeights, ConvNextWeights } from './convnext-weights.js'
import { type Attribute, GraphBuilder, int, ints } from './onnx-builder.js'

/**
 * A ConvNeXt with the interface of transformers' DINOv3ConvNextModel as onnx-community exports it: `pixel_values`
 * [B,3,H,W] (multiples of the stride) in; `last_hidden_state` [B, 1+h·w, C] out, row 0 the mean over the final grid
 * and then the grid row-major, all rows through the final LayerNorm; `pooler_output` [B,C] = row 0.
 */
export function buildConvNextGraph (spec: ConvNextSpec, weights: ConvNextWeights, precision: SyntheticPrecision): GraphBuilder {
  const g = new GraphBuilder('synthetic_dinov3_convnext', 17)
  const layers = new Layers(g, precision, 'plain')
  const c = spec.hiddenSizes[spec.hiddenSizes.length - 1]
  const ioType = precision === 'fp16' ? 'float16' : 'float32'

  let x = g.input('pixel_values', ioType, ['batch_size', 3, 'height', 'width'])
  if (precision === 'fp16') x = g.op1('Cast', [x], { to: int(FLOAT) })

  const conv = (input: string, w: ConvWeights, attributes: Record<string, Attribute>): string => convolve(g, layers, input, w, attributes)
  const stride = (k: number): Record<string, Attribute> => ({ kernel_shape: ints([k, k]), strides: ints([k, k]) })
  // LayerNorm over channels of an NCHW map: the channels_first form of DINOv3ConvNextLayerNorm.
  const channelsFirstNorm = (input: string, norm: NormWeights): string =>
    toChannelsFirst(g, layers.layerNorm(toChannelsLast(g, input), norm))

  weights.stages.forEach((stage, i) => {
    x = i === 0
      ? channelsFirstNorm(conv(x, stage.downsample, stride(4)), stage.norm)
      : conv(channelsFirstNorm(x, stage.norm), stage.downsample, stride(2))
    for (const block of stage.blocks) x = g.op1('Add', [x, blockBranch(g, layers, x, block)])
  })

  const grid = g.op1('Transpose', [g.op1('Reshape', [x, g.int64s('grid_to_rows', [0, c, -1])])], { perm: ints([0, 2, 1]) })
  const pooled = g.op1('ReduceMean', [grid], { axes: ints([1]), keepdims: int(1) })
  const tokens = g.op1('Concat', [pooled, grid], { axis: int(1) })
  const first = g.weight('global_index', BigInt64Array.of(0n), [])
  if (precision === 'fp16') {
    const normed = layers.layerNorm(tokens, weights.finalNorm)
    g.op1('Cast', [normed], { to: int(FLOAT16) }, 'last_hidden_state')
    g.op1('Cast', [g.op1('Gather', [normed, first], { axis: int(1) })], { to: int(FLOAT16) }, 'pooler_output')
  } else {
    const normed = layers.layerNorm(tokens, weights.finalNorm, 'last_hidden_state')
    g.op1('Gather', [normed, first], { axis: int(1) }, 'pooler_output')
  }
  g.output('last_hidden_state', ioType, ['batch_size', 'tokens', c])
  g.output('pooler_output', ioType, ['batch_size', c])
  return g
}

/** The residual branch of a block: depthwise 7×7, then the channels-last MLP scaled per channel. */
function blockBranch (g: GraphBuilder, layers: Layers, x: string, block: ConvNextBlockWeights): string {
  const c = block.layerScale.length
  const spatial = convolve(g, layers, x, block.depthwise, { kernel_shape: ints([7, 7]), pads: ints([3, 3, 3, 3]), group: int(c) })
  const hidden = layers.gelu(layers.linear(layers.layerNorm(toChannelsLast(g, spatial), block.norm), block.fc1))
  const scaled = g.op1('Mul', [layers.linear(hidden, block.fc2), layers.floatWeight('layer_scale', block.layerScale, [c])])
  return toChannelsFirst(g, scaled)
}

function convolve (g: GraphBuilder, layers: Layers, x: string, w: ConvWeights, attributes: Record<string, Attribute>): string {
  const bias = layers.floatWeight('conv.bias', w.bias, [w.dims[0]])
  return g.op1('Conv', [x, layers.floatWeight('conv.weight', w.weight, w.dims), bias], attributes)
}

const toChannelsLast = (g: GraphBuilder, x: string): string => g.op1('Transpose', [x], { perm: ints([0, 2, 3, 1]) })
const toChannelsFirst = (g: GraphBuilder, x: string): string => g.op1('Transpose', [x], { perm: ints([0, 3, 1, 2]) })
