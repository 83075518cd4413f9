import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { sharedApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

const numpyAvailable = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0
const skip = numpyAvailable ? false : 'numpy not importable by python3 (on Debian: apt-get install python3-numpy)'

interface NumpyView { dtype: string, shape: number[], fortran: boolean, values: number[], min: number, max: number, mean: number }

/**
 * What real numpy makes of the bytes: np.load with pickles refused, as a client would. Values come back as
 * float64 copies of the float32 ones, so they compare exactly with the JSON answers (also float32 widened).
 */
function numpyLoad (t: Test, name: string, bytes: Buffer): NumpyView {
  const file = join(t.testdir(), name)
  writeFileSync(file, bytes)
  const script = [
    'import json, sys, numpy as np',
    'a = np.load(sys.argv[1], allow_pickle=False)',
    'print(json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "fortran": bool(np.isfortran(a)) and a.ndim > 1,',
    '  "values": a.astype(np.float64).ravel().tolist(), "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean(dtype=np.float64))}))'
  ].join('\n')
  const run = spawnSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (run.status !== 0) throw new Error(`numpy could not load ${name}: ${run.stderr}`)
  return JSON.parse(run.stdout)
}

// 70×45: neither side a multiple of the patch (16), so the grid is padded: h = ceil(45/16) = 3, w = ceil(70/16) = 5.
const width = 70
const height = 45

t.test('/features?format=npy is float32 [C, h, w], value for value the JSON answer', { skip }, async (t) => {
  const app = await sharedApp(syntheticModel({ preset: 'tiny', heads: true }))
  const png = await patternPng(width, height)
  const npy = await app.inject({ method: 'POST', url: '/features?format=npy', headers: imageHeaders(), payload: png })
  t.equal(npy.statusCode, 200)
  t.equal(npy.headers['content-type'], 'application/x-npy')
  const json = (await app.inject({ method: 'POST', url: '/features?format=json', headers: imageHeaders(), payload: png })).json()

  const array = numpyLoad(t, 'features.npy', npy.rawPayload)
  t.equal(array.dtype, '<f4', 'little-endian float32')
  t.equal(array.fortran, false, 'C order')
  t.same(array.shape, [32, 3, 5], '[C, h, w] for the tiny model (32 channels) on a 3×5 grid')
  t.same(array.shape, json.images[0].shape, 'the shape /features?format=json reports')
  t.equal(npy.headers['x-patch-grid'], '3x5')
  t.same(array.values, json.images[0].features, 'every value equal to the JSON one')
})

t.test('/embed?format=npy is float32 [C] for one image and [N, C] for a batch, equal to the JSON vectors', { skip }, async (t) => {
  const app = await sharedApp(syntheticModel({ preset: 'tiny', heads: true }))
  const first = await patternPng(width, height, 1)
  const second = await patternPng(48, 64, 2)

  const one = await app.inject({ method: 'POST', url: '/embed?format=npy&pool=cls%2Bmean&normalize=true', headers: imageHeaders(), payload: first })
  const oneJson = (await app.inject({ method: 'POST', url: '/embed?pool=cls%2Bmean&normalize=true', headers: imageHeaders(), payload: first })).json()
  const single = numpyLoad(t, 'embedding.npy', one.rawPayload)
  t.equal(single.dtype, '<f4')
  t.same(single.shape, [64], 'cls+mean of a 32-channel model: 64 values')
  t.same(single.values, oneJson.embeddings[0], 'equal to the JSON vector')
  t.ok(Math.abs(Math.hypot(...single.values) - 1) < 1e-5, 'normalised to unit length')

  const form = multipartBody([{ data: first, type: 'image/png' }, { data: second, type: 'image/png' }])
  const batch = await app.inject({ method: 'POST', url: '/embed?format=npy', headers: { 'content-type': form.contentType }, payload: form.body })
  const batchJson = (await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': form.contentType }, payload: form.body })).json()
  const stacked = numpyLoad(t, 'embeddings.npy', batch.rawPayload)
  t.equal(stacked.dtype, '<f4')
  t.same(stacked.shape, [2, 32], '[N, C] in upload order')
  t.same(stacked.values, batchJson.embeddings.flat(), 'row for row the JSON vectors')
})

t.test('/depth?format=npy is float32 [H, W] at the input\'s size, agreeing with its headers and /analyze', { skip }, async (t) => {
  const app = await sharedApp(syntheticModel({ preset: 'tiny', heads: true }))
  const png = await patternPng(width, height)
  const npy = await app.inject({ method: 'POST', url: '/depth?format=npy', headers: imageHeaders(), payload: png })
  t.equal(npy.statusCode, 200)
  const depth = numpyLoad(t, 'depth.npy', npy.rawPayload)
  t.equal(depth.dtype, '<f4')
  t.same(depth.shape, [height, width], '[H, W]: the input\'s size, not the patch grid')
  t.equal(depth.min, Number(npy.headers['x-depth-min']), 'min as x-depth-min')
  t.equal(depth.max, Number(npy.headers['x-depth-max']), 'max as x-depth-max')
  t.ok(depth.min < depth.max, 'a map, not a constant')

  const analyzed = (await app.inject({ method: 'POST', url: '/analyze?tasks=depth', headers: imageHeaders(), payload: png })).json().images[0].depth
  t.equal(depth.min, analyzed.min, 'min as /analyze')
  t.equal(depth.max, analyzed.max, 'max as /analyze')
  t.ok(Math.abs(depth.mean - analyzed.mean) < 1e-5 * Math.abs(analyzed.mean), `mean as /analyze (${depth.mean} vs ${analyzed.mean})`)
})
