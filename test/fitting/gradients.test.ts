import t from 'tap'
import type { Test } from 'tap'
import type { TensorData } from '../../src/inference/ort-worker/protocol.js'
import { BETA1, firstMoment, next } from '../../src/fitting/graphs/adamw.js'
import { binCentres, depthTrainGraph } from '../../src/fitting/graphs/depth.js'
import { segmentationTrainGraph } from '../../src/fitting/graphs/segmentation.js'
import { TrainingHost } from '../../src/fitting/training-host.js'
import { SeededRandom } from '../../src/synthetic/random.js'
import type { GraphBuilder } from '../../src/synthetic/onnx-builder.js'
import { tmpdir } from 'node:os'

// A tiny problem: 2 images, 3 channels, a 2×3 patch grid, a 3×5 loss grid.
const [B, C, h, w, H, W] = [2, 3, 2, 3, 3, 5]
const random = new SeededRandom(5)

function uniformRows (rows: number, cols: number): Float32Array {
  const m = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) {
    const a = random.uniform()
    const j = Math.min(cols - 2, Math.floor(random.uniform() * (cols - 1)))
    m[i * cols + j] = a
    m[i * cols + j + 1] = 1 - a
  }
  return m
}

/** Runs one step with lr = 0 and returns the loss and the gradient (m₁ = (1 − β1)·g from zero moments). */
async function lossAndGradient (session: Awaited<ReturnType<TrainingHost['load']>>, feeds: Record<string, TensorData>, weight: Float32Array, bias: Float32Array, K: number): Promise<{ loss: number, weight: Float32Array, bias: Float32Array }> {
  const all: Record<string, TensorData> = { ...feeds }
  for (const [name, value, shape] of [['weight', weight, [K, C]], ['bias', bias, [K]]] as const) {
    all[name] = { type: 'float32', data: value.slice(), dims: shape }
    all[`${name}.m`] = { type: 'float32', data: new Float32Array(value.length), dims: shape }
    all[`${name}.v`] = { type: 'float32', data: new Float32Array(value.length), dims: shape }
  }
  for (const [name, value] of [['learning_rate', 0], ['weight_decay', 0], ['bias_correction1', 1], ['bias_correction2', 1]] as const) {
    all[name] = { type: 'float32', data: Float32Array.of(value), dims: [] }
  }
  const out = await session.run(all, ['loss', next(firstMoment('weight')), next(firstMoment('bias'))])
  const gradient = (name: string): Float32Array => Float32Array.from(out[next(firstMoment(name))].data as Float32Array, (m) => m / (1 - BETA1))
  return { loss: (out.loss.data as Float32Array)[0], weight: gradient('weight'), bias: gradient('bias') }
}

async function checkGradients (t: Test, graph: GraphBuilder, feeds: Record<string, TensorData>, weight: Float32Array, bias: Float32Array, K: number): Promise<void> {
  const host = await TrainingHost.start(tmpdir(), 0)
  t.teardown(async () => host.close())
  const session = await host.load(graph, 'gradient-check')
  const at = await lossAndGradient(session, feeds, weight, bias, K)
  t.ok(Number.isFinite(at.loss) && at.loss > 0, `loss ${at.loss}`)
  const step = 1e-2
  let worst = 0
  for (const [name, values, gradient] of [['weight', weight, at.weight], ['bias', bias, at.bias]] as const) {
    for (let i = 0; i < values.length; i++) {
      const plus = values.slice(); plus[i] += step
      const minus = values.slice(); minus[i] -= step
      const lossAt = async (v: Float32Array): Promise<number> => (await lossAndGradient(session, feeds,
        name === 'weight' ? v : weight, name === 'bias' ? v : bias, K)).loss
      const numeric = (await lossAt(plus) - await lossAt(minus)) / (2 * step)
      worst = Math.max(worst, Math.abs(numeric - gradient[i]) / Math.max(1e-3, Math.abs(numeric)))
    }
  }
  t.ok(worst < 0.02, `analytic gradients match central differences (worst relative error ${worst.toExponential(2)})`)
}

const commonFeeds = (): Record<string, TensorData> => ({
  features: { type: 'float32', data: random.normalArray(B * C * h * w, 1), dims: [B, C, h, w] },
  feature_mean: { type: 'float32', data: Float32Array.of(0.1, -0.2, 0.3), dims: [1, C, 1, 1] },
  feature_inv_std: { type: 'float32', data: Float32Array.of(1.5, 0.8, 1.1), dims: [1, C, 1, 1] },
  rows: { type: 'float32', data: uniformRows(H, h), dims: [H, h] },
  columns: { type: 'float32', data: transpose(uniformRows(W, w), W, w), dims: [w, W] }
})

function transpose (m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]
  return out
}

t.test('segmentation step: cross-entropy gradients through the upsampling and the normalisation', async (t) => {
  const K = 4
  // Class indices, with the ignored value K (what 255 becomes) in a few places.
  const labels = Float32Array.from({ length: B * H * W }, (_, i) => i % 7 === 3 ? K : Math.floor(random.uniform() * K))
  const feeds = { ...commonFeeds(), labels: { type: 'float32' as const, data: labels, dims: [B, H, W] } }
  await checkGradients(t, segmentationTrainGraph(C, K, 'float32'), feeds, random.normalArray(K * C, 0.5), random.normalArray(K, 0.5), K)
})

t.test('depth step: scale-invariant log loss gradients through the bins, the ReLU and the upsampling', async (t) => {
  const K = 6
  const target = Float32Array.from({ length: B * H * W }, (_, i) => i % 5 === 2 ? 0 : 0.5 + 4 * random.uniform())
  const feeds = { ...commonFeeds(), target: { type: 'float32' as const, data: target, dims: [B, H, W] } }
  // Logits kept away from the ReLU's kink, where a finite difference is not a derivative.
  const bias = Float32Array.from({ length: K }, () => 2 + random.uniform())
  await checkGradients(t, depthTrainGraph(C, binCentres(5, K), 'float32'), feeds, random.normalArray(K * C, 0.3), bias, K)
})
