import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { syntheticFallbackModel } from '../../src/synthetic/synthetic-cache.js'
import { scratchDir } from '../helpers/models.js'

t.test('the fallback model is written once into the temp folder, heads included, and reused', async (t) => {
  const previous = process.env.TMPDIR
  process.env.TMPDIR = scratchDir(t)
  t.teardown(() => { process.env.TMPDIR = previous })
  const dir = syntheticFallbackModel('tiny', 3)
  t.equal(dir, join(process.env.TMPDIR, 'dinov3-serve', 'synthetic-tiny-seed3'))
  t.match(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { synthetic: true, synthetic_seed: 3 })
  for (const file of ['onnx/model.onnx', 'onnx/model.onnx_data', 'heads/segmentation/model.onnx', 'heads/depth/head.json']) {
    t.ok(existsSync(join(dir, file)), file)
  }
  const written = readFileSync(join(dir, 'onnx', 'model.onnx_data'))
  t.equal(syntheticFallbackModel('tiny', 3), dir, 'the second start reuses it')
  t.ok(readFileSync(join(dir, 'onnx', 'model.onnx_data')).equals(written))
})
