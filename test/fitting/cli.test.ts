import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { Test } from 'tap'
import { decodeMask } from '../../src/fitting/targets.js'
import { encodeNpy } from '../../src/image/npy.js'
import { startApp } from '../helpers/app.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { scene, SCENE_LABELS } from './scenes.js'

type Result = { code: number, stdout: string, stderr: string }

async function headFit (args: string[], env: Record<string, string> = {}): Promise<Result> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/head-fit.ts', ...args], { timeout: 240_000, env: { ...process.env, ...env } })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error: Result) => error)
}

function modelCopy (t: Test): string {
  const dir = scratchDir(t)
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  return dir
}

/** DIR/images + DIR/masks (or depth) + labels.txt, and DIR/val/ in the same layout. */
function pairsFolder (t: Test, target: 'masks' | 'depth'): string {
  const dir = scratchDir(t)
  for (const [root, seeds] of [[dir, 20], [join(dir, 'val'), 4]] as const) {
    mkdirSync(join(root, 'images'), { recursive: true })
    mkdirSync(join(root, target), { recursive: true })
    for (let i = 0; i < seeds; i++) {
      const s = scene(root === dir ? i : 1000 + i, 128, 128)
      writeFileSync(join(root, 'images', `scene-${i}.png`), s.png)
      if (target === 'masks') writeFileSync(join(root, 'masks', `scene-${i}.png`), s.mask)
      // Half the depth maps as float32 .npy in metres, half as 16-bit PNG in millimetres.
      else if (i % 2 === 0) writeFileSync(join(root, 'depth', `scene-${i}.npy`), encodeNpy(s.metres, [128, 128]))
      else writeFileSync(join(root, 'depth', `scene-${i}.png`), s.depth)
    }
  }
  if (target === 'masks') writeFileSync(join(dir, 'labels.txt'), SCENE_LABELS.join('\n') + '\n')
  return dir
}

t.test('--help, and mistakes: one line and the usage, exit 2', async (t) => {
  const help = await headFit(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: npm run head:fit -- --task segmentation\|depth\|classification --data DIR --name NAME \[--model DIR\]/)
  for (const [args, message] of [
    [['--bogus'], /^error: Unknown option '--bogus'/],
    [['--task', 'pose', '--data', 'x', '--name', 'y'], /^error: --task takes segmentation, depth or classification, got pose/],
    [['--task', 'depth', '--data', 'x', '--name', 'y', '--kind', 'knn'], /^error: --kind knn is for --task classification/]
  ] as const) {
    const result = await headFit([...args])
    t.equal(result.code, 2, args.join(' '))
    t.match(result.stderr, message)
    t.match(result.stderr, /\n\nusage: npm run head:fit/)
  }
})

t.test('segmentation from a folder: written to the model folder\'s heads/, served by /segment', async (t) => {
  const model = modelCopy(t)
  const data = pairsFolder(t, 'masks')
  const result = await headFit(['--task', 'segmentation', '--data', data, '--name', 'shapes', '--model', model, '--epochs', '20'])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stderr, /^extracting 0%/m, 'progress lines on a pipe')
  t.match(result.stderr, /^training \d+% epoch 20\/20 loss \d\.\d{4}$/m)
  t.match(result.stderr, /^done 100%$/m)
  const report = JSON.parse(result.stdout)
  t.equal(report.dir, join(model, 'heads', 'shapes'))
  t.match(report, { task: 'segmentation', labels: SCENE_LABELS, fitted: { train_images: 20, val_images: 4 } })
  t.ok(report.metrics.miou > 0.5, `held out (DIR/val): ${JSON.stringify(report.metrics)}`)

  const app = await startApp(t, model)
  const val = scene(1000, 128, 128)
  const response = await app.inject({ method: 'POST', url: '/segment?head=shapes', headers: { 'content-type': 'image/png' }, payload: val.png })
  t.equal(response.statusCode, 200)
  const served = (await decodeMask(response.rawPayload, 'served')).data
  const correct = Array.from(served).reduce((sum, label, i) => sum + (label === val.labels[i] ? 1 : 0), 0)
  t.ok(correct / served.length > 0.75, `pixel accuracy on a held-out scene: ${(correct / served.length).toFixed(3)}`)

  const again = await headFit(['--task', 'segmentation', '--data', data, '--name', 'shapes', '--model', model])
  t.match(again, { code: 1, stderr: /^error: a head named "shapes" already exists in / }, 'a name in use is refused')
  const orphan = pairsFolder(t, 'masks')
  writeFileSync(join(orphan, 'masks', 'lost.png'), val.mask)
  t.match(await headFit(['--task', 'segmentation', '--data', orphan, '--name', 'x', '--model', model]), { code: 1, stderr: /^error: masks\/lost\.png: no image with the stem "lost" in images\// })
})

t.test('depth from PNG and .npy maps, into HEADS_DIR; classification from class folders', async (t) => {
  const model = modelCopy(t)
  const heads = scratchDir(t)
  const depth = await headFit(['--task', 'depth', '--data', pairsFolder(t, 'depth'), '--name', 'ranges', '--model', model, '--epochs', '40'], { HEADS_DIR: heads })
  t.equal(depth.code, 0, depth.stderr)
  const report = JSON.parse(depth.stdout)
  t.equal(report.dir, join(heads, 'ranges'))
  t.ok(existsSync(join(heads, 'ranges', 'model.onnx')))
  t.ok(report.metrics.abs_rel < 0.25, `held out: ${JSON.stringify(report.metrics)}`)

  const data = scratchDir(t)
  for (const cls of [1, 2, 3]) {
    mkdirSync(join(data, SCENE_LABELS[cls]))
    for (let i = 0; i < 8; i++) writeFileSync(join(data, SCENE_LABELS[cls], `${i}.png`), scene(cls * 100 + i, 96, 96, cls).png)
  }
  const knn = await headFit(['--task', 'classification', '--kind', 'knn', '--data', data, '--name', 'kinds', '--model', model, '--heads-dir', heads, '--val-fraction', '0.25'])
  t.equal(knn.code, 0, knn.stderr)
  const json = JSON.parse(readFileSync(join(heads, 'kinds', 'head.json'), 'utf8'))
  t.match(json, { task: 'classification', kind: 'knn', labels: ['blue_square', 'red_disc', 'yellow_stripes'], fitted: { train_images: 18, val_images: 6 } })
  t.ok(json.metrics.top1 >= 0.8, `held-out top-1 ${json.metrics.top1}`)
})
