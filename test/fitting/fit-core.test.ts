import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ort from 'onnxruntime-node'
import t from 'tap'
import type { Test } from 'tap'
import { fitHead, type FitProgress, type LabelledImage } from '../../src/fitting/index.js'
import { decodeNpy } from '../../src/image/npy.js'
import { decodeMask } from '../../src/fitting/targets.js'
import { StageTimes } from '../../src/inference/stages.js'
import { patchGrid } from '../../src/inference/tokens.js'
import { startApp } from '../helpers/app.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { scene, SCENE_LABELS, type Scene } from './scenes.js'

const SIDE = 128
const trainScenes = Array.from({ length: 24 }, (_, i) => scene(i, SIDE, SIDE))
const valScenes = Array.from({ length: 4 }, (_, i) => scene(1000 + i, SIDE, SIDE))

/** A copy of the tiny synthetic model, so that heads written into it stay in this test. */
function modelCopy (t: Test): string {
  const dir = scratchDir(t)
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  return dir
}

const pairs = (scenes: Scene[], target: 'mask' | 'depth', shuffle = false): LabelledImage[] => scenes.map((s, i) => ({
  file: `images/${i}.png`,
  image: s.png,
  [target]: (shuffle ? scenes[(i + 7) % scenes.length] : s)[target]
}))

/** mIoU and pixel accuracy of label maps against the scenes' true labels (the unlabelled edge ring excluded). */
function segmentationScore (predicted: Uint8Array[], scenes: Scene[]): { miou: number, accuracy: number } {
  const k = SCENE_LABELS.length
  const hit = new Array(k).fill(0)
  const union = new Array(k).fill(0)
  let correct = 0
  let total = 0
  scenes.forEach((s, n) => {
    for (let i = 0; i < s.labels.length; i++) {
      const truth = s.labels[i]
      const guess = predicted[n][i]
      total += 1
      if (truth === guess) { correct += 1; hit[truth] += 1; union[truth] += 1 } else { union[truth] += 1; union[guess] += 1 }
    }
  })
  const present = union.map((u, c) => u > 0 ? hit[c] / u : undefined).filter((v) => v !== undefined) as number[]
  return { miou: present.reduce((a, b) => a + b, 0) / present.length, accuracy: correct / total }
}

async function served (t: Test, model: string, route: string, scenes: Scene[]): Promise<Buffer[]> {
  const app = await startApp(t, model)
  const bodies: Buffer[] = []
  for (const s of scenes) {
    const response = await app.inject({ method: 'POST', url: route, headers: { 'content-type': 'image/png' }, payload: s.png })
    t.equal(response.statusCode, 200, `${route} answers`)
    bodies.push(response.rawPayload)
  }
  await app.close()
  return bodies
}

t.test('segmentation: fitted by the core, served by /segment, scored on held-out scenes; shuffled masks fail', async (t) => {
  const model = modelCopy(t)
  const engine = await startEngine(t, model)
  const progress: FitProgress[] = []
  const fitted = await fitHead(engine, { task: 'segmentation', name: 'shapes', labels: SCENE_LABELS, epochs: 20, train: pairs(trainScenes, 'mask'), val: pairs(valScenes, 'mask') },
    join(model, 'heads'), (p) => progress.push(p))
  const broken = await fitHead(engine, { task: 'segmentation', name: 'shuffled', labels: SCENE_LABELS, epochs: 20, train: pairs(trainScenes, 'mask', true), val: pairs(valScenes, 'mask') },
    scratchDir(t), () => {})

  const json = JSON.parse(readFileSync(join(fitted.dir, 'head.json'), 'utf8'))
  t.same(json, fitted.headJson, 'head.json is what fitHead returned')
  t.match(json, { task: 'segmentation', labels: SCENE_LABELS, backbone: { model_type: 'dinov3_vit', dim: 32, patch: 16, registers: 4, variant: 'fp32' }, fitted: { train_images: 24, val_images: 4, epochs: 20 } })
  t.ok(json.metrics.miou > 0.5 && json.metrics.pixel_accuracy > 0.75, `held-out metrics ${JSON.stringify(json.metrics)}`)
  t.ok(broken.headJson.metrics.miou! < 0.35, `a trainer fed shuffled masks scores low: ${JSON.stringify(broken.headJson.metrics)}`)

  // Progress: extracting, then training epochs 1..20 with a loss, then done; never backwards.
  t.equal(progress[0].state, 'extracting')
  t.equal(progress.at(-1)?.state, 'done')
  t.equal(progress.at(-1)?.progress, 1)
  t.ok(progress.every((p, i) => i === 0 || p.progress >= progress[i - 1].progress), 'progress never goes back')
  const epochs = progress.filter((p) => p.state === 'training' && p.epoch !== undefined)
  t.equal(epochs.at(-1)?.epoch, 20)
  t.ok(epochs.every((p) => typeof p.loss === 'number' && Number.isFinite(p.loss)))
  t.ok((epochs.at(-1)?.loss as number) < (epochs[0].loss as number) * 0.7, 'the loss falls')

  await engine.close()
  const maps = await Promise.all((await served(t, model, '/segment?head=shapes', valScenes)).map(async (png) => {
    const map = await decodeMask(png, 'served')
    t.equal(map.width, SIDE)
    return map.data as Uint8Array
  }))
  const score = segmentationScore(maps, valScenes)
  t.ok(score.miou > 0.5 && score.accuracy > 0.75, `served through /segment: ${JSON.stringify(score)}`)
  t.ok(Math.abs(score.accuracy - json.metrics.pixel_accuracy) < 0.05, 'the metrics in head.json measure what /segment serves')
})

t.test('depth: fitted by the core, served by /depth, scored on held-out scenes; shuffled depth maps fail', async (t) => {
  const model = modelCopy(t)
  const engine = await startEngine(t, model)
  const fitted = await fitHead(engine, { task: 'depth', name: 'ranges', epochs: 60, train: pairs(trainScenes, 'depth'), val: pairs(valScenes, 'depth') }, join(model, 'heads'), () => {})
  const broken = await fitHead(engine, { task: 'depth', name: 'shuffled', epochs: 60, train: pairs(trainScenes, 'depth', true), val: pairs(valScenes, 'depth') }, scratchDir(t), () => {})
  t.match(fitted.headJson, { task: 'depth', unit: 'm' })
  const { metrics } = fitted.headJson
  t.ok(metrics.abs_rel! < 0.22 && metrics.delta1! > 0.65, `held-out metrics ${JSON.stringify(metrics)}`)
  t.ok(broken.headJson.metrics.abs_rel! > 0.24, `a trainer fed shuffled depth scores worse: ${JSON.stringify(broken.headJson.metrics)}`)
  await engine.close()

  const maps = (await served(t, model, '/depth?head=ranges&format=npy', valScenes)).map((npy) => decodeNpy(npy))
  let absRel = 0
  let count = 0
  maps.forEach((map, n) => {
    t.same(map.shape, [SIDE, SIDE])
    valScenes[n].metres.forEach((truth, i) => { absRel += Math.abs((map.data as Float32Array)[i] - truth) / truth; count += 1 })
  })
  t.ok(Math.abs(absRel / count - metrics.abs_rel!) < 0.02, `/depth serves what head.json measured: AbsRel ${(absRel / count).toFixed(3)} against ${metrics.abs_rel!.toFixed(3)}`)
})

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
      const context = { times: new StageTimes() }
      const [encoded] = await engine.encodeImages([v.image], async (b) => engine.prepareForEmbedding(b, context), context)
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
