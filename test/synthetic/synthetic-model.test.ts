import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ort from 'onnxruntime-node'
import t from 'tap'
import { writeSyntheticModel } from '../../src/synthetic/synthetic-model.js'
import { scratchDir } from '../helpers/models.js'

t.test('the backbone has the DINOv3 contract: dynamic B, H, W; [B, 1+R+h·w, C] and pooler_output', async (t) => {
  const dir = scratchDir(t)
  writeSyntheticModel(dir, { preset: 'tiny', spec: { patchSize: 14, registers: 3 } })
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'))
  t.teardown(async () => session.release())
  t.same(session.inputNames, ['pixel_values'])
  t.same(session.outputNames, ['last_hidden_state', 'pooler_output'])
  for (const [batch, height, width] of [[1, 14, 14], [2, 28, 70], [3, 56, 42]]) {
    const pixels = Float32Array.from({ length: batch * 3 * height * width }, (_, i) => Math.sin(i * 0.37))
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, height, width]) })
    const tokens = 1 + 3 + (height / 14) * (width / 14)
    t.same(out.last_hidden_state.dims, [batch, tokens, 32], `${batch}×${height}×${width}`)
    t.same(out.pooler_output.dims, [batch, 32])
    const hidden = out.last_hidden_state.data as Float32Array
    t.same(Array.from(out.pooler_output.data as Float32Array).slice(0, 32), Array.from(hidden.subarray(0, 32)), 'pooler_output is the CLS row')
  }
})

t.test('patch tokens depend on position as well as content (a sinusoidal code over normalised coordinates)', async (t) => {
  const dir = scratchDir(t)
  writeSyntheticModel(dir, { preset: 'tiny' })
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'))
  t.teardown(async () => session.release())
  const out = await session.run({ pixel_values: new ort.Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]) })
  const hidden = out.last_hidden_state.data as Float32Array
  const patch = (i: number): Float32Array => hidden.subarray((5 + i) * 32, (6 + i) * 32)
  t.not(Array.from(patch(0)).join(), Array.from(patch(3)).join(), 'a uniform image still gives different patches')
})

t.test('weights are deterministic from the seed; external data, variants, config and heads are written', async (t) => {
  const [a, b, c] = [scratchDir(t), scratchDir(t), scratchDir(t)]
  writeSyntheticModel(a, { preset: 'tiny', seed: 7, externalData: true, variants: ['fp16', 'quantized'], heads: { classes: 5 } })
  writeSyntheticModel(b, { preset: 'tiny', seed: 7, externalData: true })
  writeSyntheticModel(c, { preset: 'tiny', seed: 8, externalData: true })
  const data = (dir: string): Buffer => readFileSync(join(dir, 'onnx', 'model.onnx_data'))
  t.ok(data(a).equals(data(b)), 'same seed, same bytes')
  t.notOk(data(a).equals(data(c)), 'another seed, other weights')
  for (const file of ['model_fp16.onnx', 'model_fp16.onnx_data', 'model_quantized.onnx', 'model_quantized.onnx_data']) {
    t.ok(existsSync(join(a, 'onnx', file)), file)
  }
  t.ok(readFileSync(join(a, 'onnx', 'model.onnx')).length < 100_000, 'the graph file is small: the weights are outside')
  const config = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8'))
  t.match(config, { model_type: 'dinov3_vit', hidden_size: 32, patch_size: 16, num_register_tokens: 4, synthetic: true })
  const processor = JSON.parse(readFileSync(join(a, 'preprocessor_config.json'), 'utf8'))
  t.match(processor, { size: { height: 224, width: 224 }, image_mean: [0.485, 0.456, 0.406], resample: 2 })
  t.same(JSON.parse(readFileSync(join(a, 'heads', 'segmentation', 'head.json'), 'utf8')).labels, ['class_0', 'class_1', 'class_2', 'class_3', 'class_4'])
  t.equal(JSON.parse(readFileSync(join(a, 'heads', 'depth', 'head.json'), 'utf8')).unit, 'm')

  const depth = await ort.InferenceSession.create(join(a, 'heads', 'depth', 'model.onnx'))
  t.teardown(async () => depth.release())
  t.same(depth.inputNames, ['patch_features', 'cls_token'])
  const out = await depth.run({
    patch_features: new ort.Tensor('float32', new Float32Array(32 * 6), [1, 32, 2, 3]),
    cls_token: new ort.Tensor('float32', new Float32Array(32), [1, 32])
  })
  t.same(out.predicted_depth.dims, [1, 1, 2, 3])
  t.ok((out.predicted_depth.data as Float32Array).every((v) => v > 0), 'positive depths')
})

t.test('fused attention (com.microsoft MultiHeadAttention) computes what plain attention does', async (t) => {
  const [plain, fused] = [scratchDir(t), scratchDir(t)]
  writeSyntheticModel(plain, { preset: 'tiny', seed: 9 })
  writeSyntheticModel(fused, { preset: 'tiny', seed: 9, attention: 'fused', variants: ['quantized'] })
  t.equal(JSON.parse(readFileSync(join(fused, 'config.json'), 'utf8')).synthetic_attention, 'fused')
  const pixels = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 48 * 32 }, (_, i) => Math.cos(i * 0.11)), [2, 3, 48, 32])
  const outputs: Float32Array[] = []
  for (const dir of [plain, fused]) {
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'))
    outputs.push((await session.run({ pixel_values: pixels })).last_hidden_state.data as Float32Array)
    await session.release()
  }
  let worst = 0
  for (let i = 0; i < outputs[0].length; i++) worst = Math.max(worst, Math.abs(outputs[0][i] - outputs[1][i]))
  t.ok(worst < 1e-4, `max |diff| ${worst}`)
  const quantized = await ort.InferenceSession.create(join(fused, 'onnx', 'model_quantized.onnx'))
  t.same((await quantized.run({ pixel_values: pixels })).last_hidden_state.dims, [2, 1 + 4 + 6, 32])
  await quantized.release()
})
