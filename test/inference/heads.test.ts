import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ort from 'onnxruntime-node'
import t from 'tap'
import type { Test } from 'tap'
import { decodeNpy } from '../../src/image/npy.js'
import { loadHeads } from '../../src/inference/heads/load-heads.js'
import { GraphBuilder, ints } from '../../src/synthetic/onnx-builder.js'
import { buildClassificationHead, buildSegmentationHead } from '../../src/synthetic/head-graphs.js'
import { writeOnnx } from '../../src/synthetic/write-onnx.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { patternPng, patternRgb } from '../helpers/images.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { maxAbsDiff, normaliseByHand } from '../helpers/reference.js'
import { startOrtHost } from '../helpers/ort-host.js'

const backbone = { hiddenSize: 32, patchSize: 16 }
const settings = { providers: ['cpu'] as Array<'cpu'>, intraOpThreads: 1, spinning: false }
const quiet = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }

function modelWithHead (t: Test, name: string, config: object, graph?: GraphBuilder): string {
  const dir = scratchDir(t)
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  const headDir = join(dir, 'heads', name)
  mkdirSync(headDir, { recursive: true })
  writeFileSync(join(headDir, 'head.json'), JSON.stringify(config))
  if (graph !== undefined) writeOnnx(graph, join(headDir, 'model.onnx'), false)
  return dir
}

/** A 1×1 convolution head over an input of any name and channel count. */
function convHead (input: string, inputChannels: number, outputs: number, outputName = 'out'): GraphBuilder {
  const g = new GraphBuilder('test_head')
  g.input(input, 'float32', ['b', inputChannels, 'h', 'w'])
  g.op1('Conv', [input, g.weight('w', new Float32Array(outputs * inputChannels).fill(0.01), [outputs, inputChannels, 1, 1])], { kernel_shape: ints([1, 1]) }, outputName)
  g.output(outputName, 'float32', ['b', outputs, 'h', 'w'])
  return g
}

t.test('a head that does not fit the backbone stops the start, naming the head and the problem', async (t) => {
  // One inference thread for every refusal: starting one costs a worker and onnxruntime's load, and what differs
  // between the cases is the folder, not the thread.
  const host = await startOrtHost(t)
  const refusal = async (dir: string): Promise<string> =>
    loadHeads(host, dir, backbone, settings, quiet).then(() => 'loaded', (error: Error) => error.message)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'detection' }, convHead('patch_features', 32, 3))),
    /heads\/seg\/head\.json: "task" must be one of "segmentation", "depth", "classification", found "detection"/)
  t.match(await refusal(modelWithHead(t, 'cls', { task: 'classification', labels: ['a', 'b', 'c'] }, convHead('patch_features', 32, 3))),
    /head "cls" .*: a classification head outputs probabilities \[B, K\]; this one has rank 4/)
  t.match(await refusal(modelWithHead(t, 'cls', { task: 'classification', labels: ['a', 'b'] }, buildClassificationHead(32, 3, 1))),
    /head "cls" .*: it outputs 3 classes but head\.json lists 2 labels/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a', 'b', 'c'] }, buildClassificationHead(32, 3, 1))),
    /head "seg" .*: a segmentation head outputs a map, \[B, K, h, w\] or \[B, h, w\]; this one outputs \[B, K\]/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a'], backbone: { name: 'x' } }, convHead('patch_features', 32, 1))),
    /"backbone\.model_type" must be a string/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a', 'b', 'c'] }, convHead('patch_features', 32, 8))),
    /head "seg" .*: it outputs 8 classes but head\.json lists 3 labels/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a'] }, convHead('patch_features', 64, 1))),
    /head "seg" .*: input "patch_features" has 64 channels but the backbone gives 32/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a'] }, convHead('features', 32, 1))),
    /head "seg" .*: unknown input "features"; a head takes patch_features, cls_token, pixel_values/)
  t.match(await refusal(modelWithHead(t, 'deep', { task: 'depth' }, convHead('patch_features', 32, 2))),
    /head "deep" .*: a depth head outputs one plane, this one outputs 2/)
  t.match(await refusal(modelWithHead(t, 'deep', { task: 'depth' })), /head "deep" .*: model\.onnx is missing/)
  t.match(await refusal(modelWithHead(t, 'seg', { task: 'segmentation', labels: [] }, convHead('patch_features', 32, 1))),
    /needs "labels": a non-empty list/)

  const dir = modelWithHead(t, 'seg', { task: 'segmentation', labels: ['a', 'b'] }, convHead('patch_features', 32, 5))
  const app = await import('../../src/app.js').then(({ buildApp }) => import('../../src/config.js').then(({ loadConfig }) =>
    buildApp(loadConfig({ MODEL: dir, LOG_LEVEL: 'silent' }), { logger: false })))
  t.teardown(async () => app.close())
  await t.rejects(app.modelHost.loaded, { message: /head "seg" .*5 classes but head\.json lists 2 labels/ })
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503)
})

t.test('an end-to-end head takes the normalised pixels instead of the features', async (t) => {
  const dir = modelWithHead(t, 'e2e', { task: 'depth', unit: 'm' }, (() => {
    const g = new GraphBuilder('pixel_depth')
    g.input('pixel_values', 'float32', ['b', 3, 'h', 'w'])
    const pooled = g.op1('AveragePool', ['pixel_values'], { kernel_shape: ints([4, 4]), strides: ints([4, 4]) })
    g.op1('Conv', [pooled, g.weight('w', Float32Array.of(0.5, -0.25, 1), [1, 3, 1, 1])], { kernel_shape: ints([1, 1]) }, 'predicted_depth')
    g.output('predicted_depth', 'float32', ['b', 1, 'h4', 'w4'])
    return g
  })())
  const app = await startApp(t, dir)
  const [width, height] = [64, 48]
  const response = await app.inject({ method: 'POST', url: '/depth?head=e2e', headers: imageHeaders(), payload: await patternPng(width, height) })
  t.equal(response.statusCode, 200)
  const depth = decodeNpy(response.rawPayload)
  t.same(depth.shape, [height, width])

  const session = await ort.InferenceSession.create(join(dir, 'heads', 'e2e', 'model.onnx'))
  t.teardown(async () => session.release())
  const out = await session.run({ pixel_values: new ort.Tensor('float32', normaliseByHand(patternRgb(width, height), width, height, dir), [1, 3, height, width]) })
  const map = out.predicted_depth.data as Float32Array
  // 16×12 map over 64×48 pixels: each pixel centre at (x + 0.5) / 4 − 0.5; check the pixel centres that land on cells.
  const onCells: number[] = []
  const fromService: number[] = []
  for (let y = 2; y < height; y += 4) {
    for (let x = 2; x < width; x += 4) {
      // (x + 0.5)/4 − 0.5 = (x − 1.5)/4: for x = 4k + 2 that is k + 0.125; interpolate the two cells.
      const cx = (x + 0.5) / 4 - 0.5
      const cy = (y + 0.5) / 4 - 0.5
      const x0 = Math.floor(cx); const y0 = Math.floor(cy)
      const x1 = Math.min(x0 + 1, 15); const y1 = Math.min(y0 + 1, 11)
      const fx = cx - x0; const fy = cy - y0
      const at = (xx: number, yy: number): number => map[yy * 16 + xx]
      onCells.push((1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1)))
      fromService.push((depth.data as Float32Array)[y * width + x])
    }
  }
  t.ok(maxAbsDiff(onCells, fromService) < 1e-5, 'the depth of the end-to-end head, resampled to the input size')
})

t.test('heads are listed with their task, labels and inputs', async (t) => {
  const dir = scratchDir(t)
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  const headDir = join(dir, 'heads', 'voc')
  mkdirSync(headDir, { recursive: true })
  writeOnnx(buildSegmentationHead(32, 3, 1), join(headDir, 'model.onnx'), false)
  writeFileSync(join(headDir, 'head.json'), JSON.stringify({ task: 'segmentation', labels: ['sky', 'road', 'car'] }))
  const host = await startOrtHost(t)
  const heads = await loadHeads(host, dir, backbone, settings, quiet)
  t.teardown(async () => Promise.all(heads.map(async (h) => h.release())))
  t.same(heads.map((h) => [h.name, h.task, h.labels, h.inputs]), [['voc', 'segmentation', ['sky', 'road', 'car'], ['patch_features']]])
  rmSync(join(dir, 'heads'), { recursive: true })
  t.same(await loadHeads(host, dir, backbone, settings, quiet), [], 'no heads folder: no heads')
})
