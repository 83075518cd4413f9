import t from 'tap'
import { FeatureStore } from '../../src/fitting/feature-store.js'
import { fitHead, type LabelledImage } from '../../src/fitting/index.js'
import { float16ToFloat32, float32ToFloat16 } from '../../src/inference/float16.js'
import { SeededRandom } from '../../src/synthetic/random.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { scene, SCENE_LABELS } from './scenes.js'
import { readdirSync } from 'node:fs'

t.test('past its budget the store moves every map to disk as float16 and reads them back', async (t) => {
  const random = new SeededRandom(3)
  const maps = [random.normalArray(100, 1), random.normalArray(100, 1), random.normalArray(50, 1)]
  const scratch = scratchDir(t)
  const store = new FeatureStore(900, scratch)
  t.equal(store.add(maps[0]), 0)
  t.equal(store.add(maps[1]), 1)
  t.notOk(store.spilled, '800 bytes fit in 900')
  t.equal(store.elementType, 'float32')
  t.same(Array.from(store.batch([1, 0]) as Float32Array), [...maps[1], ...maps[0]])
  store.add(maps[2])
  t.ok(store.spilled, 'the third map does not: everything spills')
  t.equal(store.elementType, 'float16')
  const half = maps.map((m) => float16ToFloat32(float32ToFloat16(m)))
  t.same(Array.from(store.read(0)), Array.from(half[0]), 'maps held before the spill are on disk too')
  t.same(Array.from(store.read(2)), Array.from(half[2]))
  t.same(Array.from(store.batch([2, 0]) as Uint16Array), [...float32ToFloat16(maps[2]), ...float32ToFloat16(maps[0])], 'batches are the float16 bits, unconverted')
  t.equal(readdirSync(scratch).length, 1)
  store.close()
  t.equal(readdirSync(scratch).length, 0, 'closing removes the spill file')
})

t.test('a fit past the memory budget trains on float16 features from disk and gets the same head', async (t) => {
  const engine = await startEngine(t, syntheticModel({ preset: 'tiny' }))
  const scenes = Array.from({ length: 12 }, (_, i) => scene(i, 96, 96))
  const train: LabelledImage[] = scenes.map((s, i) => ({ file: `${i}.png`, image: s.png, mask: s.mask }))
  const request = { task: 'segmentation' as const, labels: SCENE_LABELS, epochs: 8, train, valFraction: 0.25 }
  const scratch = scratchDir(t)
  const inMemory = await fitHead(engine, { ...request, name: 'memory' }, scratchDir(t), () => {}, undefined, { scratchDir: scratch })
  const spilled = await fitHead(engine, { ...request, name: 'spilled' }, scratchDir(t), () => {}, undefined, { memoryBudgetBytes: 4096, scratchDir: scratch })
  t.equal(inMemory.headJson.fitted.spilled, false)
  t.equal(spilled.headJson.fitted.spilled, true)
  t.ok(Math.abs(inMemory.headJson.metrics.miou! - spilled.headJson.metrics.miou!) < 0.02,
    `float16 features change little: mIoU ${inMemory.headJson.metrics.miou} in memory, ${spilled.headJson.metrics.miou} spilled`)
  t.same(readdirSync(scratch), [], 'the scratch files are gone')
})
