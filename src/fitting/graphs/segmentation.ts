import { GraphBuilder, int, ints, type ElementType } from '../../synthetic/onnx-builder.js'
import { adamwStep, parameterInputs, type Parameter } from './adamw.js'
import { conv1x1, conv1x1Gradients, denseInputs, downsampleGradient, foldNormalisation, upsample } from './dense-common.js'

export const segmentationParameters = (channels: number, classes: number): Parameter[] => [
  { name: 'weight', shape: [classes, channels], decay: true },
  { name: 'bias', shape: [classes], decay: false }
]

/**
 * One AdamW step of a linear segmentation probe: normalised features → 1×1 conv → logits upsampled bilinearly to
 * the loss grid → softmax cross-entropy against `labels` [B, H', W'] (class indices as floats; any value outside 0..K−1 is ignored),
 * averaged over the labelled pixels. Forward, backward and update in one graph, so every step is onnxruntime's kernels.
 */
export function segmentationTrainGraph (channels: number, classes: number, featureType: ElementType): GraphBuilder {
  const g = new GraphBuilder('fit_segmentation_step', 17)
  const { normalised, rows, columns } = denseInputs(g, channels, featureType)
  const labels = g.input('labels', 'float32', ['batch', 'loss_height', 'loss_width'])
  const params = segmentationParameters(channels, classes)
  parameterInputs(g, params)

  const logits = conv1x1(g, normalised, 'weight', 'bias', classes, channels)
  const upsampled = upsample(g, logits, rows, columns)
  const logProbabilities = g.op1('LogSoftmax', [upsampled], { axis: int(1) })
  const target = g.op1('OneHot', [
    g.op1('Cast', [labels], { to: int(7) }),
    g.int64s('classes', [classes]),
    g.weight('one_hot_values', Float32Array.of(0, 1), [2])
  ], { axis: int(1) })
  const labelled = g.op1('ReduceSum', [target, g.int64s('class_axis', [1])], { keepdims: int(1) })
  const count = g.op1('Max', [g.op1('ReduceSum', [labelled], { keepdims: int(0) }), g.scalar('at_least_one', 1)])
  g.op1('Div', [g.op1('Neg', [g.op1('ReduceSum', [g.op1('Mul', [target, logProbabilities])], { keepdims: int(0) })]), count], {}, 'loss')
  g.output('loss', 'float32', [])

  const logitGradient = g.op1('Div', [g.op1('Mul', [g.op1('Sub', [g.op1('Exp', [logProbabilities]), target]), labelled]), count])
  const gridGradient = downsampleGradient(g, logitGradient, rows, columns)
  const gradients = conv1x1Gradients(g, normalised, gridGradient)
  adamwStep(g, params, [gradients.weight, gradients.bias])
  return g
}

/** The served head, in the existing contract: patch_features [B, C, h, w] → logits [B, K, h, w], normalisation folded in. */
export function segmentationHeadGraph (weight: Float32Array, bias: Float32Array, mean: Float32Array, invStd: Float32Array): GraphBuilder {
  const channels = mean.length
  const classes = bias.length
  const folded = foldNormalisation(weight, bias, mean, invStd)
  const g = new GraphBuilder('fitted_linear_segmentation', 17)
  const features = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  g.op1('Conv', [
    features,
    g.weight('classifier.weight', folded.weight, [classes, channels, 1, 1]),
    g.weight('classifier.bias', folded.bias, [classes])
  ], { kernel_shape: ints([1, 1]) }, 'logits')
  g.output('logits', 'float32', ['batch_size', classes, 'grid_height', 'grid_width'])
  return g
}
