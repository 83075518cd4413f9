import { join } from 'node:path'
import t from 'tap'
import { fitHead } from '../../src/fitting/index.js'
import { decodeNpy } from '../../src/image/npy.js'
import { scratchDir } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { modelCopy, pairs, served, SIDE, trainScenes, valScenes } from './fit-helpers.js'

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
