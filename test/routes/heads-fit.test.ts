import t from 'tap'
import type { Test } from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { decodeMask } from '../../src/fitting/targets.js'
import { startApp } from '../helpers/app.js'
import { field, file, postFit, TOKEN, waitForJob, type FitPart } from '../helpers/fit-form.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { scene, SCENE_LABELS, type Scene } from '../fitting/scenes.js'

/**
 * Each task fitted over HTTP on synthetic scenes, then scored on scenes it never saw through the serving endpoints.
 * The thresholds sit between what a working trainer reaches and what the same trainer fed shuffled targets reaches
 * (both measured here), so a broken trainer fails them.
 */
const model = syntheticModel({ preset: 'tiny' })
const SIDE = 128
const train = Array.from({ length: 24 }, (_, i) => scene(i, SIDE, SIDE))
const heldOut = Array.from({ length: 4 }, (_, i) => scene(2000 + i, SIDE, SIDE))

async function fittingApp (t: Test) {
  return startApp(t, model, { ADMIN_TOKEN: TOKEN, HEADS_DIR: scratchDir(t) })
}

const denseParts = (scenes: Scene[], target: 'mask' | 'depth', shuffle: boolean): FitPart[] => scenes.flatMap((s, i) => [
  file('image', `scene-${i}.png`, s.png),
  file(target, `scene-${i}-${target}.png`, (shuffle ? scenes[(i + 7) % scenes.length] : s)[target])
])

async function fit (t: Test, app: Awaited<ReturnType<typeof fittingApp>>, name: string, query: string, parts: FitPart[]): Promise<Record<string, number>> {
  const accepted = await postFit(app, name, query, parts)
  t.equal(accepted.statusCode, 202, `${name} accepted`)
  const job = await waitForJob(app, name)
  t.equal(job.state, 'done', `${name}: ${job.error ?? 'done'}`)
  t.ok(job.seen.every((state) => ['queued', 'extracting', 'training', 'done'].includes(state)), `${name} went through ${job.seen.join(' → ')}`)
  return job.metrics
}

/** mIoU over the classes present, against the scenes' true labels. */
function miou (predicted: Array<Uint8Array | Uint16Array>, scenes: Scene[]): number {
  const k = SCENE_LABELS.length
  const hit = new Array(k).fill(0)
  const union = new Array(k).fill(0)
  scenes.forEach((s, n) => {
    for (let i = 0; i < s.labels.length; i++) {
      const truth = s.labels[i]
      const guess = predicted[n][i]
      union[truth] += 1
      if (truth === guess) hit[truth] += 1
      else union[guess] += 1
    }
  })
  const iou = union.flatMap((u, c) => u > 0 ? [hit[c] / u] : [])
  return iou.reduce((a, b) => a + b, 0) / iou.length
}

t.test('segmentation fitted over HTTP: /segment on held-out scenes; shuffled masks fail the same threshold', async (t) => {
  const app = await fittingApp(t)
  const scores: Record<string, number> = {}
  for (const [name, shuffle] of [['shapes', false], ['shuffled', true]] as const) {
    const metrics = await fit(t, app, name, 'task=segmentation&epochs=20', [field('labels', SCENE_LABELS.join(',')), ...denseParts(train, 'mask', shuffle)])
    const maps = []
    for (const s of heldOut) {
      const response = await app.inject({ method: 'POST', url: `/segment?head=${name}`, headers: { 'content-type': 'image/png' }, payload: s.png })
      t.equal(response.statusCode, 200)
      maps.push((await decodeMask(response.rawPayload, 'answer')).data)
    }
    scores[name] = miou(maps, heldOut)
    t.comment(`${name}: served mIoU ${scores[name].toFixed(3)}, job metrics ${JSON.stringify(metrics)}`)
  }
  t.ok(scores.shapes > 0.5, `a working trainer: mIoU ${scores.shapes.toFixed(3)} > 0.5 on held-out scenes`)
  t.ok(scores.shuffled < 0.5, `shuffled masks: mIoU ${scores.shuffled.toFixed(3)} < 0.5`)
})

t.test('depth fitted over HTTP: /depth on held-out scenes; shuffled depth maps fail the same threshold', async (t) => {
  const app = await fittingApp(t)
  const scores: Record<string, number> = {}
  for (const [name, shuffle] of [['room', false], ['shuffled', true]] as const) {
    const metrics = await fit(t, app, name, 'task=depth&epochs=40&val_fraction=0.1', denseParts(train, 'depth', shuffle))
    let absRel = 0
    let count = 0
    for (const s of heldOut) {
      const response = await app.inject({ method: 'POST', url: `/depth?head=${name}`, headers: { 'content-type': 'image/png' }, payload: s.png })
      t.equal(response.statusCode, 200)
      t.equal(response.headers['x-depth-unit'], 'm')
      const predicted = decodeNpy(response.rawPayload).data as Float32Array
      for (let i = 0; i < s.metres.length; i++) {
        absRel += Math.abs(predicted[i] - s.metres[i]) / s.metres[i]
        count += 1
      }
    }
    scores[name] = absRel / count
    t.comment(`${name}: served AbsRel ${scores[name].toFixed(3)}, job metrics ${JSON.stringify(metrics)}`)
  }
  t.ok(scores.room < 0.26, `a working trainer: AbsRel ${scores.room.toFixed(3)} < 0.26 on held-out scenes`)
  t.ok(scores.shuffled > 0.26, `shuffled depth maps: AbsRel ${scores.shuffled.toFixed(3)} > 0.26`)
})

t.test('classification fitted over HTTP (linear and knn): /classify on held-out scenes; shuffled labels fail', async (t) => {
  const app = await fittingApp(t)
  const classes = SCENE_LABELS.slice(1)
  const one = (seed: number, i: number) => ({ label: classes[i % 3], png: scene(seed, 96, 96, 1 + (i % 3)).png })
  const trainSet = Array.from({ length: 30 }, (_, i) => one(i, i))
  const testSet = Array.from({ length: 9 }, (_, i) => one(700 + i, i))
  const parts = (shuffle: boolean): FitPart[] => trainSet.flatMap((x, i) => [
    file('image', `${x.label}-${i}.png`, x.png),
    field('label', shuffle ? classes[(i * 7 + 1) % 3] : x.label)
  ])
  const scores: Record<string, number> = {}
  for (const [name, query, shuffle] of [['linear', 'kind=linear&epochs=50', false], ['knn', 'kind=knn', false], ['shuffled', 'kind=linear&epochs=50', true]] as const) {
    const metrics = await fit(t, app, name, `task=classification&${query}`, parts(shuffle))
    let correct = 0
    for (const x of testSet) {
      const response = await app.inject({ method: 'POST', url: `/classify?head=${name}&top_k=3`, headers: { 'content-type': 'image/png' }, payload: x.png })
      t.equal(response.statusCode, 200)
      const labels = response.json().labels
      t.same(labels.map((l: { label: string }) => l.label).sort(), [...classes].sort(), 'top_k=3: every class once')
      if (labels[0].label === x.label) correct += 1
    }
    scores[name] = correct / testSet.length
    t.comment(`${name}: served top-1 ${scores[name].toFixed(3)}, job metrics ${JSON.stringify(metrics)}`)
  }
  t.ok(scores.linear >= 0.88 && scores.knn >= 0.88, `working trainers: top-1 linear ${scores.linear.toFixed(3)}, knn ${scores.knn.toFixed(3)} ≥ 0.88`)
  t.ok(scores.shuffled < 0.67, `shuffled labels: top-1 ${scores.shuffled.toFixed(3)} < 0.67`)
})
