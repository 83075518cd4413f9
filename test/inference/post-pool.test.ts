import t from 'tap'
import { PostPool } from '../../src/inference/post-pool/pool.js'
import { resampleArgmax, samplingFor } from '../../src/inference/resample.js'

t.test('a job runs on a pool thread and answers what the same function answers here', async (t) => {
  const pool = new PostPool(2)
  t.teardown(async () => pool.close())
  const planes = 3
  const data = Float32Array.from({ length: planes * 4 * 5 }, (_, i) => Math.sin(i * 1.7))
  const geometry = { original: { width: 37, height: 29 }, content: { width: 37, height: 29 }, padded: { width: 40, height: 32 } }
  const logits = { data, planes, width: 5, height: 4 }
  const expected = resampleArgmax(logits, samplingFor(geometry, 5, 4), 37, 29)
  const started = performance.now()
  const result = await pool.run('labels', { logits: { ...logits, data: data.slice() }, geometry, classes: planes, picture: 'none' })
  t.comment(`first job ${Math.round(performance.now() - started)} ms`)
  const counts = [0, 0, 0]
  for (const label of expected) counts[label] += 1
  t.same(result.counts, counts)
})
