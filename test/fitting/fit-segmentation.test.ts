import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fitHead, type FitProgress } from '../../src/fitting/index.js'
import { decodeMask } from '../../src/fitting/targets.js'
import { scratchDir } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { modelCopy, pairs, segmentationScore, served, SIDE, trainScenes, valScenes } from './fit-helpers.js'
import { SCENE_LABELS } from './scenes.js'

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
