import { GraphBuilder, int, ints } from './onnx-builder.js'
import { SeededRandom } from './random.js'

/** A linear segmentation head, as DINOv3's linear probes are: a 1×1 convolution from C channels to K class logits. */
export function buildSegmentationHead (channels: number, classes: number, seed: number): GraphBuilder {
  const random = new SeededRandom(seed)
  const g = new GraphBuilder('synthetic_linear_segmentation', 17)
  const features = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  g.op1('Conv', [
    features,
    g.weight('classifier.weight', random.normalArray(classes * channels, 1 / Math.sqrt(channels)), [classes, channels, 1, 1]),
    g.weight('classifier.bias', random.normalArray(classes, 0.1), [classes])
  ], { kernel_shape: ints([1, 1]) }, 'logits')
  g.output('logits', 'float32', ['batch_size', classes, 'grid_height', 'grid_width'])
  return g
}

/**
 * A linear depth head on the patch grid plus a global term from the CLS token (so the optional `cls_token`
 * input is exercised), made positive by softplus: depth = softplus(w·patch + v·cls + b) in metres.
 */
export function buildDepthHead (channels: number, seed: number): GraphBuilder {
  const random = new SeededRandom(seed)
  const g = new GraphBuilder('synthetic_linear_depth', 17)
  const features = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  const cls = g.input('cls_token', 'float32', ['batch_size', channels])
  const local = g.op1('Conv', [
    features,
    g.weight('depth.weight', random.normalArray(channels, 0.5 / Math.sqrt(channels)), [1, channels, 1, 1]),
    g.weight('depth.bias', Float32Array.of(1.5), [1])
  ], { kernel_shape: ints([1, 1]) })
  const global = g.op1('Reshape', [
    g.op1('MatMul', [cls, g.weight('depth.cls_weight', random.normalArray(channels, 0.2 / Math.sqrt(channels)), [channels, 1])]),
    g.int64s('to_map', [-1, 1, 1, 1])
  ])
  g.op1('Softplus', [g.op1('Add', [local, global])], {}, 'predicted_depth')
  g.output('predicted_depth', 'float32', ['batch_size', 1, 'grid_height', 'grid_width'])
  return g
}

/**
 * A linear classification head on the CLS token concatenated with the mean patch token (DINOv3's linear-probe input),
 * with a softmax: probabilities [B, K]. It takes both inputs, as the heads this service fits do.
 */
export function buildClassificationHead (channels: number, classes: number, seed: number): GraphBuilder {
  const random = new SeededRandom(seed)
  const g = new GraphBuilder('synthetic_linear_classification', 17)
  const cls = g.input('cls_token', 'float32', ['batch_size', channels])
  const features = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  const meanPatch = g.op1('ReduceMean', [features], { axes: ints([2, 3]), keepdims: int(0) })
  const joined = g.op1('Concat', [cls, meanPatch], { axis: int(1) })
  const logits = g.op1('Add', [
    g.op1('MatMul', [joined, g.weight('classifier.weight', random.normalArray(2 * channels * classes, 1 / Math.sqrt(2 * channels)), [2 * channels, classes])]),
    g.weight('classifier.bias', random.normalArray(classes, 0.1), [classes])
  ])
  g.op1('Softmax', [logits], { axis: int(1) }, 'probabilities')
  g.output('probabilities', 'float32', ['batch_size', classes])
  return g
}
