import ort from 'onnxruntime-node'
import t from 'tap'
import { classifierHeadGraph, knnHeadGraph, KNN_NEIGHBOURS, KNN_TEMPERATURE } from '../../src/fitting/graphs/classification.js'
import { SeededRandom } from '../../src/synthetic/random.js'
import type { GraphBuilder } from '../../src/synthetic/onnx-builder.js'

const random = new SeededRandom(11)
const [C, h, w, classes, n] = [6, 2, 3, 4, 37]

async function run (graph: GraphBuilder, cls: Float32Array, patches: Float32Array, batch: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(graph.encode().model)
  try {
    const out = await session.run({
      cls_token: new ort.Tensor('float32', cls, [batch, C]),
      patch_features: new ort.Tensor('float32', patches, [batch, C, h, w])
    })
    return out.probabilities.data as Float32Array
  } finally {
    await session.release()
  }
}

/** CLS ⊕ mean of the patch grid, as the graph builds it. */
function vectorOf (cls: Float32Array, patches: Float32Array, b: number): number[] {
  const v = Array.from(cls.subarray(b * C, (b + 1) * C))
  for (let c = 0; c < C; c++) {
    let s = 0
    for (let i = 0; i < h * w; i++) s += patches[(b * C + c) * h * w + i]
    v.push(s / (h * w))
  }
  return v
}

const unit = (v: number[]): number[] => { const norm = Math.hypot(...v); return v.map((x) => x / norm) }

t.test('the k-NN graph votes as DINO\'s weighted k-NN: top 20 by cosine, exp(sim/0.07), normalised', async (t) => {
  const bank = Array.from({ length: n }, () => random.normalArray(2 * C, 1))
  const labels = Array.from({ length: n }, () => Math.floor(random.uniform() * classes))
  const batch = 3
  const cls = random.normalArray(batch * C, 1)
  const patches = random.normalArray(batch * C * h * w, 1)
  const probabilities = await run(knnHeadGraph(bank, labels, classes), cls, patches, batch)
  const units = bank.map((v) => unit(Array.from(v)))
  for (let b = 0; b < batch; b++) {
    const query = unit(vectorOf(cls, patches, b))
    const similarities = units.map((u, j) => ({ j, s: u.reduce((sum, x, d) => sum + x * query[d], 0) })).sort((x, y) => y.s - x.s).slice(0, KNN_NEIGHBOURS)
    const votes = new Array(classes).fill(0)
    for (const { j, s } of similarities) votes[labels[j]] += Math.exp(s / KNN_TEMPERATURE)
    const total = votes.reduce((x, y) => x + y, 0)
    for (let k = 0; k < classes; k++) t.ok(Math.abs(probabilities[b * classes + k] - votes[k] / total) < 1e-4, `image ${b} class ${k}`)
  }
})

t.test('fewer training images than k: every one votes', async (t) => {
  const bank = [Float32Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Float32Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
  const cls = Float32Array.of(1, 0.2, 0, 0, 0, 0)
  const probabilities = await run(knnHeadGraph(bank, [0, 1], 2), cls, new Float32Array(C * h * w), 1)
  const [s0, s1] = [1 / Math.hypot(1, 0.2), 0.2 / Math.hypot(1, 0.2)]
  const p0 = Math.exp(s0 / KNN_TEMPERATURE) / (Math.exp(s0 / KNN_TEMPERATURE) + Math.exp(s1 / KNN_TEMPERATURE))
  t.ok(Math.abs(probabilities[0] - p0) < 1e-5 && Math.abs(probabilities[1] - (1 - p0)) < 1e-5, `${Array.from(probabilities)} against ${p0}`)
})

t.test('the linear classifier folds the standardisation: softmax(W·((x − μ)·s) + b) on CLS ⊕ mean', async (t) => {
  const D = 2 * C
  const weight = random.normalArray(classes * D, 1)
  const bias = random.normalArray(classes, 1)
  const mean = random.normalArray(D, 1)
  const invStd = Float32Array.from({ length: D }, () => 0.5 + random.uniform())
  const cls = random.normalArray(2 * C, 1)
  const patches = random.normalArray(2 * C * h * w, 1)
  const probabilities = await run(classifierHeadGraph(weight, bias, mean, invStd), cls, patches, 2)
  for (let b = 0; b < 2; b++) {
    const x = vectorOf(cls, patches, b).map((v, d) => (v - mean[d]) * invStd[d])
    const logits = Array.from({ length: classes }, (_, k) => bias[k] + x.reduce((s, v, d) => s + v * weight[k * D + d], 0))
    const top = Math.max(...logits)
    const total = logits.reduce((s, l) => s + Math.exp(l - top), 0)
    for (let k = 0; k < classes; k++) t.ok(Math.abs(probabilities[b * classes + k] - Math.exp(logits[k] - top) / total) < 1e-5)
  }
})
