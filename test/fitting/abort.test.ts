import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fitHead, type FitProgress } from '../../src/fitting/index.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { scene, SCENE_LABELS } from './scenes.js'

t.test('an aborted fit stops, writes nothing and leaves no scratch files', async (t) => {
  const engine = await startEngine(t, syntheticModel({ preset: 'tiny' }))
  const train = Array.from({ length: 8 }, (_, i) => { const s = scene(i, 64, 64); return { file: `${i}.png`, image: s.png, mask: s.mask } })
  const heads = scratchDir(t)
  const scratch = scratchDir(t)
  const controller = new AbortController()
  const seen: FitProgress[] = []
  const fit = fitHead(engine, { task: 'segmentation', name: 'stopped', labels: SCENE_LABELS, epochs: 500, train }, heads, (p) => {
    seen.push(p)
    if (p.state === 'training' && p.epoch === 2) controller.abort(new Error('stopped by the test'))
  }, controller.signal, { scratchDir: scratch, memoryBudgetBytes: 0 })
  await t.rejects(fit, /stopped by the test/)
  t.equal(seen.at(-1)?.state, 'failed')
  t.ok(seen.every((p) => (p.epoch ?? 0) <= 3), 'training stopped within a step of the abort')
  t.notOk(existsSync(join(heads, 'stopped')))
  t.same(readdirSync(heads).filter((f) => f !== '.'), [], 'no head and no half-written folder')
  t.same(readdirSync(scratch), [], 'spilled features and graphs removed')
})
