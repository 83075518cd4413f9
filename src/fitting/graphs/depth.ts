import { GraphBuilder, int, ints, type ElementType } from '../../synthetic/onnx-builder.js'
import { adamwStep, parameterInputs, type Parameter } from './adamw.js'
import { conv1x1, conv1x1Gradients, denseInputs, downsampleGradient, foldNormalisation, upsample } from './dense-common.js'

export const DEPTH_BINS = 256
export const MIN_DEPTH = 0.001
/** The scale-invariant log loss's λ (Eigen et al.; DINOv2/v3's SigLoss: variance + 0.15·mean²). */
export const SILOG_LAMBDA = 0.85
/** Added to every bin's ReLU output before normalisation, as DINOv3's "linear" norm strategy does. */
const BIN_FLOOR = 0.1

/** Bin centres spaced linearly from MIN_DEPTH to the data's largest depth. */
export function binCentres (maxDepth: number, bins = DEPTH_BINS): Float32Array {
  return Float32Array.from({ length: bins }, (_, i) => MIN_DEPTH + (maxDepth - MIN_DEPTH) * i / (bins - 1))
}

export const depthParameters = (channels: number, bins = DEPTH_BINS): Parameter[] => [
  { name: 'weight', shape: [bins, channels], decay: true },
  { name: 'bias', shape: [bins], decay: false }
]

/** logits [B, K, h, w] → depth [B, 1, h, w]: weights relu(x) + 0.1, normalised over the bins, times the bin centres. */
function binsToDepth (g: GraphBuilder, logits: string, centres: string): { depth: string, weights: string, total: string } {
  const weights = g.op1('Add', [g.op1('Relu', [logits]), g.scalar('bin_floor', BIN_FLOOR)])
  const axis = g.int64s('bin_axis', [1])
  const total = g.op1('ReduceSum', [weights, axis], { keepdims: int(1) })
  const depth = g.op1('Div', [g.op1('ReduceSum', [g.op1('Mul', [weights, centres]), axis], { keepdims: int(1) }), total])
  return { depth, weights, total }
}

/**
 * One AdamW step of DINOv3's linear depth probe: normalised features → 1×1 conv to K bins → depth as the
 * bin-weighted mean of the centres → upsampled bilinearly to the loss grid → scale-invariant log loss against
 * `target` [B, H', W'] in metres (0 = no value), over the valued pixels of the batch.
 */
export function depthTrainGraph (channels: number, centres: Float32Array, featureType: ElementType): GraphBuilder {
  const bins = centres.length
  const g = new GraphBuilder('fit_depth_step', 17)
  const { normalised, rows, columns } = denseInputs(g, channels, featureType)
  const target = g.input('target', 'float32', ['batch', 'loss_height', 'loss_width'])
  const params = depthParameters(channels, bins)
  parameterInputs(g, params)
  const centreMap = g.weight('bin_centres', centres, [1, bins, 1, 1])

  const logits = conv1x1(g, normalised, 'weight', 'bias', bins, channels)
  const { depth, total } = binsToDepth(g, logits, centreMap)
  const predicted = g.op1('Squeeze', [upsample(g, depth, rows, columns), g.int64s('channel_axis', [1])])
  const valued = g.op1('Cast', [g.op1('Greater', [target, g.scalar('zero', 0)])], { to: int(1) })
  const count = g.op1('Max', [g.op1('ReduceSum', [valued], { keepdims: int(0) }), g.scalar('at_least_one', 1)])
  const tiny = g.scalar('tiny', 1e-6)
  const logRatio = g.op1('Mul', [g.op1('Sub', [g.op1('Log', [predicted]), g.op1('Log', [g.op1('Max', [target, tiny])])]), valued])
  const mean = g.op1('Div', [g.op1('ReduceSum', [logRatio], { keepdims: int(0) }), count])
  const meanSquare = g.op1('Div', [g.op1('ReduceSum', [g.op1('Mul', [logRatio, logRatio])], { keepdims: int(0) }), count])
  const lambda = g.scalar('lambda', SILOG_LAMBDA)
  const variance = g.op1('Max', [g.op1('Sub', [meanSquare, g.op1('Mul', [lambda, g.op1('Mul', [mean, mean])])]), g.scalar('variance_floor', 1e-8)])
  const loss = g.op1('Sqrt', [variance], {}, 'loss')
  g.output('loss', 'float32', [])

  // d loss / d log-ratio = (d − λ·mean) / (n · loss) on valued pixels; then through the log and the upsampling.
  const ratioGradient = g.op1('Div', [g.op1('Mul', [g.op1('Sub', [logRatio, g.op1('Mul', [lambda, mean])]), valued]), g.op1('Mul', [count, loss])])
  const predictedGradient = g.op1('Unsqueeze', [g.op1('Div', [ratioGradient, predicted]), g.int64s('channel_axis', [1])])
  const depthGradient = downsampleGradient(g, predictedGradient, rows, columns)
  // depth = Σ wₖcₖ / Σ wₖ  ⇒  ∂depth/∂wₖ = (cₖ − depth) / Σ wₖ; the ReLU passes where its input is positive.
  const weightGradient = g.op1('Div', [g.op1('Mul', [depthGradient, g.op1('Sub', [centreMap, depth])]), total])
  const logitGradient = g.op1('Mul', [weightGradient, g.op1('Cast', [g.op1('Greater', [logits, g.scalar('zero', 0)])], { to: int(1) })])
  const gradients = conv1x1Gradients(g, normalised, logitGradient)
  adamwStep(g, params, [gradients.weight, gradients.bias])
  return g
}

/** The served head: patch_features [B, C, h, w] → predicted_depth [B, 1, h, w] in metres, normalisation folded in. */
export function depthHeadGraph (weight: Float32Array, bias: Float32Array, mean: Float32Array, invStd: Float32Array, centres: Float32Array): GraphBuilder {
  const channels = mean.length
  const bins = centres.length
  const folded = foldNormalisation(weight, bias, mean, invStd)
  const g = new GraphBuilder('fitted_linear_depth_bins', 17)
  const features = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  const logits = g.op1('Conv', [
    features,
    g.weight('bins.weight', folded.weight, [bins, channels, 1, 1]),
    g.weight('bins.bias', folded.bias, [bins])
  ], { kernel_shape: ints([1, 1]) })
  const { depth } = binsToDepth(g, logits, g.weight('bin_centres', centres, [1, bins, 1, 1]))
  g.op1('Identity', [depth], {}, 'predicted_depth')
  g.output('predicted_depth', 'float32', ['batch_size', 1, 'grid_height', 'grid_width'])
  return g
}
