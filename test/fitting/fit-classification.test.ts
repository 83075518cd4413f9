import { join } from 'node:path'
import ort from 'onnxruntime-node'
import t from 'tap'
import { fitHead, type LabelledImage } from '../../src/fitting/index.js'
import { StageTimes } from '../../src/inference/stages.js'
import { patchGrid } from '../../src/inference/tokens.js'
import { scratchDir } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { modelCopy } from './fit-helpers.js'
import { scene, SCENE_LABELS } from './scenes.js'

t.test('classification: linear and k-NN heads, run as /classify will feed them; shuffled labels fail', async (t) => {
  const model = modelCopy(t)
  const engine = await startEngine(t, model)
  const item = (seed: number, cls: number, label = SCENE_LABELS[cls]): LabelledImage => ({ file: `${label}/${seed}.png`, image: scene(seed, 96, 96, cls).png, label })
  const train = Array.from({ length: 30 }, (_, i) => item(i, 1 + (i % 3)))
  const val = Array.from({ length: 9 }, (_, i) => item(500 + i, 1 + (i % 3)))
  const shuffled = train.map((x, i) => ({ ...x, label: SCENE_LABELS[1 + ((i * 7 + 1) % 3)] }))
  const heads = scratchDir(t)
  const results: Record<string, number> = {}
  for (const [name, kind, set] of [['linear', 'linear', train], ['knn', 'knn', train], ['broken', 'linear', shuffled]] as const) {
    const fitted = await fitHead(engine, { task: 'classification', name, kind, epochs: 50, train: set, val }, heads, () => {})
    t.match(fitted.headJson, { task: 'classification', kind, labels: ['blue_square', 'red_disc', 'yellow_stripes'] })
    // Run the written head as /classify will: cls_token and patch_features of /embed's pass.
    const session = await ort.InferenceSession.create(join(fitted.dir, 'model.onnx'))
    t.teardown(async () => session.release())
    let correct = 0
    for (const v of val) {
      const context = { times: new StageTimes(), heldPixels: 0 }
      const [encoded] = await engine.encodeImages([v.image], async (b) => engine.prepareForEmbedding(b, context), context)
      engine.pixels.release(context)
      const c = encoded.output.channels
      const out = await session.run({
        cls_token: new ort.Tensor('float32', encoded.output.tokens.slice(0, c), [1, c]),
        patch_features: new ort.Tensor('float32', patchGrid(encoded.output, 4, encoded.grid.height, encoded.grid.width), [1, c, encoded.grid.height, encoded.grid.width])
      })
      const p = out.probabilities.data as Float32Array
      t.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities sum to 1')
      const best = p.indexOf(Math.max(...p))
      if (fitted.headJson.labels![best] === v.label) correct += 1
    }
    results[name] = correct / val.length
    t.equal(results[name], fitted.headJson.metrics.top1, `${name}: top-1 in head.json is what the head does`)
  }
  t.ok(results.linear >= 0.88 && results.knn >= 0.88, `top-1 ${JSON.stringify(results)}`)
  t.ok(results.broken < 0.67, `shuffled labels: top-1 ${results.broken}`)
})
