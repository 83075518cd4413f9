import { GraphBuilder, int, ints } from '../../synthetic/onnx-builder.js'
import { adamwStep, parameterInputs, type Parameter } from './adamw.js'

export const KNN_NEIGHBOURS = 20
export const KNN_TEMPERATURE = 0.07

export const classifierParameters = (features: number, classes: number): Parameter[] => [
  { name: 'weight', shape: [classes, features], decay: true },
  { name: 'bias', shape: [classes], decay: false }
]

/**
 * One AdamW step of multinomial logistic regression on standardised vectors `vectors` [B, D] with class indices
 * `labels` [B] (as floats): softmax cross-entropy, mean over the batch; forward, backward and update in the graph.
 */
export function classifierTrainGraph (features: number, classes: number): GraphBuilder {
  const g = new GraphBuilder('fit_classifier_step', 17)
  const vectors = g.input('vectors', 'float32', ['batch', features])
  const mean = g.input('feature_mean', 'float32', [1, features])
  const invStd = g.input('feature_inv_std', 'float32', [1, features])
  const labels = g.input('labels', 'float32', ['batch'])
  const params = classifierParameters(features, classes)
  parameterInputs(g, params)

  const normalised = g.op1('Mul', [g.op1('Sub', [vectors, mean]), invStd])
  const logits = g.op1('Gemm', [normalised, 'weight', 'bias'], { transB: int(1) })
  const logProbabilities = g.op1('LogSoftmax', [logits], { axis: int(1) })
  const target = g.op1('OneHot', [g.op1('Cast', [labels], { to: int(7) }), g.int64s('classes', [classes]), g.weight('one_hot_values', Float32Array.of(0, 1), [2])], { axis: int(-1) })
  const count = g.op1('Cast', [g.op1('Gather', [g.op1('Shape', [vectors]), g.int64s('batch_index', [0])])], { to: int(1) })
  g.op1('Div', [g.op1('Neg', [g.op1('ReduceSum', [g.op1('Mul', [target, logProbabilities])], { keepdims: int(0) })]), g.op1('Squeeze', [count])], {}, 'loss')
  g.output('loss', 'float32', [])
  const logitGradient = g.op1('Div', [g.op1('Sub', [g.op1('Exp', [logProbabilities]), target]), count])
  const weightGradient = g.op1('Gemm', [logitGradient, normalised], { transA: int(1) })
  const biasGradient = g.op1('ReduceSum', [logitGradient, g.int64s('batch_axis', [0])], { keepdims: int(0) })
  adamwStep(g, params, [weightGradient, biasGradient])
  return g
}

/** CLS ⊕ mean of the patch tokens [B, 2C], from the head contract's inputs. */
function globalVector (g: GraphBuilder, channels: number): string {
  const cls = g.input('cls_token', 'float32', ['batch_size', channels])
  const patches = g.input('patch_features', 'float32', ['batch_size', channels, 'grid_height', 'grid_width'])
  return g.op1('Concat', [cls, g.op1('ReduceMean', [patches], { axes: ints([2, 3]), keepdims: int(0) })], { axis: int(1) })
}

/** The served linear classifier: cls_token, patch_features → probabilities [B, K] (standardisation folded, softmax inside). */
export function classifierHeadGraph (weight: Float32Array, bias: Float32Array, mean: Float32Array, invStd: Float32Array): GraphBuilder {
  const features = mean.length
  const classes = bias.length
  const folded = new Float32Array(weight.length)
  const shifted = Float32Array.from(bias)
  for (let k = 0; k < classes; k++) {
    for (let d = 0; d < features; d++) {
      folded[k * features + d] = weight[k * features + d] * invStd[d]
      shifted[k] -= folded[k * features + d] * mean[d]
    }
  }
  const g = new GraphBuilder('fitted_linear_classifier', 17)
  const vector = globalVector(g, features / 2)
  const logits = g.op1('Gemm', [vector, g.weight('classifier.weight', folded, [classes, features]), g.weight('classifier.bias', shifted, [classes])], { transB: int(1) })
  g.op1('Softmax', [logits], { axis: int(1) }, 'probabilities')
  g.output('probabilities', 'float32', ['batch_size', classes])
  return g
}

/**
 * DINO's weighted k-NN classifier as a graph: the L2-normalised CLS ⊕ mean vector against the normalised training
 * vectors (an initializer [D, N]), the k most similar by cosine, each voting for its class with exp(sim / T), the
 * votes normalised to sum to 1. k = min(20, N), T = 0.07.
 */
export function knnHeadGraph (trainVectors: Float32Array[], trainLabels: number[], classes: number): GraphBuilder {
  const features = trainVectors[0].length
  const n = trainVectors.length
  const k = Math.min(KNN_NEIGHBOURS, n)
  const bank = new Float32Array(features * n)
  trainVectors.forEach((vector, j) => {
    const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0)) || 1
    for (let d = 0; d < features; d++) bank[d * n + j] = vector[d] / norm
  })
  const oneHot = new Float32Array(n * classes)
  trainLabels.forEach((label, j) => { oneHot[j * classes + label] = 1 })

  const g = new GraphBuilder('fitted_knn_classifier', 17)
  const vector = globalVector(g, features / 2)
  const norm = g.op1('Max', [g.op1('ReduceL2', [vector], { axes: ints([1]), keepdims: int(1) }), g.scalar('tiny', 1e-12)])
  const similarity = g.op1('MatMul', [g.op1('Div', [vector, norm]), g.weight('knn.bank', bank, [features, n])])
  const [values, indices] = g.op('TopK', [similarity, g.int64s('k', [k])], { axis: int(1), largest: int(1), sorted: int(1) }, 2)
  // Votes are normalised, so shifting by the best similarity changes nothing and keeps exp() in range.
  const shifted = g.op1('Sub', [values, g.op1('ReduceMax', [values], { axes: ints([1]), keepdims: int(1) })])
  const weights = g.op1('Exp', [g.op1('Div', [shifted, g.scalar('temperature', KNN_TEMPERATURE)])])
  const neighbourClasses = g.op1('Gather', [g.weight('knn.labels', oneHot, [n, classes]), indices], { axis: int(0) })
  const votes = g.op1('ReduceSum', [g.op1('Mul', [neighbourClasses, g.op1('Unsqueeze', [weights, g.int64s('vote_axis', [2])])]), g.int64s('neighbour_axis', [1])], { keepdims: int(0) })
  g.op1('Div', [votes, g.op1('ReduceSum', [votes, g.int64s('class_axis', [1])], { keepdims: int(1) })], {}, 'probabilities')
  g.output('probabilities', 'float32', ['batch_size', classes])
  return g
}
