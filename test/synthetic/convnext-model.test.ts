import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ort from 'onnxruntime-node'
import t from 'tap'
import { float16ToFloat32, float32ToFloat16 } from '../../src/inference/float16.js'
import type { LinearWeights, NormWeights } from '../../src/synthetic/backbone-weights.js'
import { convnextPresets } from '../../src/synthetic/convnext-spec.js'
import { makeConvNextWeights, type ConvWeights } from '../../src/synthetic/convnext-weights.js'
import { writeSyntheticModel } from '../../src/synthetic/synthetic-model.js'
import { scratchDir } from '../helpers/models.js'

/** A feature map, channels first, in float64: the reference below computes in double precision. */
interface FeatureMap { c: number, h: number, w: number, data: Float64Array }

function convolve (x: FeatureMap, k: ConvWeights, stride: number, pad: number, groups: number): FeatureMap {
  const [outputs, perGroup, size] = k.dims
  const h = Math.floor((x.h + 2 * pad - size) / stride) + 1
  const w = Math.floor((x.w + 2 * pad - size) / stride) + 1
  const data = new Float64Array(outputs * h * w)
  const outputsPerGroup = outputs / groups
  for (let o = 0; o < outputs; o++) {
    const firstInput = Math.floor(o / outputsPerGroup) * perGroup
    for (let y = 0; y < h; y++) {
      for (let x0 = 0; x0 < w; x0++) {
        let sum = k.bias[o]
        for (let i = 0; i < perGroup; i++) {
          for (let ky = 0; ky < size; ky++) {
            const sy = y * stride + ky - pad
            if (sy < 0 || sy >= x.h) continue
            for (let kx = 0; kx < size; kx++) {
              const sx = x0 * stride + kx - pad
              if (sx < 0 || sx >= x.w) continue
              sum += k.weight[((o * perGroup + i) * size + ky) * size + kx] * x.data[((firstInput + i) * x.h + sy) * x.w + sx]
            }
          }
        }
        data[(o * h + y) * w + x0] = sum
      }
    }
  }
  return { c: outputs, h, w, data }
}

/** Applies fn to each pixel's channel vector (the channels-last layers of a block). */
function perPixel (x: FeatureMap, outputs: number, fn: (v: Float64Array) => Float64Array): FeatureMap {
  const cells = x.h * x.w
  const data = new Float64Array(outputs * cells)
  for (let p = 0; p < cells; p++) {
    const out = fn(Float64Array.from({ length: x.c }, (_, c) => x.data[c * cells + p]))
    for (let c = 0; c < outputs; c++) data[c * cells + p] = out[c]
  }
  return { c: outputs, h: x.h, w: x.w, data }
}

function layerNorm (v: Float64Array, norm: NormWeights): Float64Array {
  const mean = v.reduce((a, b) => a + b, 0) / v.length
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length
  return v.map((value, c) => (value - mean) / Math.sqrt(variance + 1e-6) * norm.gamma[c] + norm.beta[c])
}

function linear (v: Float64Array, l: LinearWeights): Float64Array {
  return Float64Array.from({ length: l.outputs }, (_, j) => {
    let sum = l.bias[j]
    for (let i = 0; i < l.inputs; i++) sum += v[i] * l.weight[i * l.outputs + j]
    return sum
  })
}

/** erf by its Maclaurin series (exact to double precision for the |x| < 6 a unit-variance layer gives; 1 beyond). */
function erf (x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x)
  let term = x
  let sum = x
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= -x * x / n
    sum += term / (2 * n + 1)
  }
  return 2 / Math.sqrt(Math.PI) * sum
}

/**
 * transformers' DINOv3ConvNextModel.forward written out in plain loops, with the generator's own weights: stages of
 * (stem conv 4×4/4 + norm | norm + conv 2×2/2) and blocks, then LayerNorm over [mean of the grid, grid rows].
 */
function referenceTokens (weights: ReturnType<typeof makeConvNextWeights>, pixels: Float32Array, height: number, width: number): Float64Array {
  let x: FeatureMap = { c: 3, h: height, w: width, data: Float64Array.from(pixels) }
  weights.stages.forEach((stage, i) => {
    const norm = (m: FeatureMap): FeatureMap => perPixel(m, m.c, (v) => layerNorm(v, stage.norm))
    x = i === 0 ? norm(convolve(x, stage.downsample, 4, 0, 1)) : convolve(norm(x), stage.downsample, 2, 0, 1)
    for (const block of stage.blocks) {
      const spatial = convolve(x, block.depthwise, 1, 3, x.c)
      const branch = perPixel(spatial, x.c, (v) => {
        const hidden = linear(layerNorm(v, block.norm), block.fc1).map((a) => 0.5 * a * (1 + erf(a / Math.SQRT2)))
        return linear(hidden, block.fc2).map((a, c) => a * block.layerScale[c])
      })
      x = { ...x, data: x.data.map((value, j) => value + branch.data[j]) }
    }
  })
  const cells = x.h * x.w
  const rows = Array.from({ length: cells }, (_, p) => Float64Array.from({ length: x.c }, (_, c) => x.data[c * cells + p]))
  const mean = Float64Array.from({ length: x.c }, (_, c) => rows.reduce((sum, row) => sum + row[c], 0) / cells)
  const tokens = new Float64Array((1 + cells) * x.c)
  ;[mean, ...rows].forEach((row, r) => tokens.set(layerNorm(row, weights.finalNorm), r * x.c))
  return tokens
}

t.test('the ConvNeXt graph computes DINOv3ConvNextModel: equal to a plain-loop reference with the same weights', async (t) => {
  const dir = scratchDir(t)
  const model = writeSyntheticModel(dir, { family: 'convnext', preset: 'tiny', seed: 11 })
  t.equal(model.family, 'convnext')
  t.same(model.grid, { hiddenSize: 192, patchSize: 32, registers: 0 })
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'))
  t.teardown(async () => session.release())
  t.same(session.inputNames, ['pixel_values'], 'the names of the onnx-community exports')
  t.same(session.outputNames, ['last_hidden_state', 'pooler_output'])

  const [height, width] = [64, 96]
  const pixels = Float32Array.from({ length: 3 * height * width }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i / 101))
  const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, height, width]) })
  t.same(out.last_hidden_state.dims, [1, 1 + 2 * 3, 192], 'a pooled token, then the 2×3 grid at stride 32')
  const hidden = out.last_hidden_state.data as Float32Array
  const expected = referenceTokens(makeConvNextWeights(convnextPresets.tiny, 11), pixels, height, width)
  let worst = 0
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(hidden[i] - expected[i]))
  t.ok(worst < 1e-5, `max |diff| ${worst} over every token, the pooled row included`)
  t.same(Array.from(out.pooler_output.data as Float32Array), Array.from(hidden.subarray(0, 192)), 'pooler_output is row 0')
})

t.test('dynamic batch, height and width: [B, 1 + H/32 · W/32, C]; images in a batch do not mix', async (t) => {
  const dir = scratchDir(t)
  writeSyntheticModel(dir, { family: 'convnext', preset: 'tiny', convnext: { hiddenSizes: [8, 16, 24, 40], depths: [1, 0, 1, 1] } })
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'))
  t.teardown(async () => session.release())
  for (const [batch, height, width] of [[1, 32, 32], [2, 64, 160], [3, 224, 96]]) {
    const pixels = Float32Array.from({ length: batch * 3 * height * width }, (_, i) => Math.sin(i * 0.11))
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, height, width]) })
    t.same(out.last_hidden_state.dims, [batch, 1 + (height / 32) * (width / 32), 40], `${batch}×${height}×${width}`)
    if (batch === 1) continue
    const single = await session.run({ pixel_values: new ort.Tensor('float32', pixels.slice(-3 * height * width), [1, 3, height, width]) })
    const last = (out.last_hidden_state.data as Float32Array).slice(-single.last_hidden_state.data.length)
    let worst = 0
    for (let i = 0; i < last.length; i++) worst = Math.max(worst, Math.abs(last[i] - (single.last_hidden_state.data as Float32Array)[i]))
    t.ok(worst < 1e-5, `the last image alone answers the same (max |diff| ${worst})`)
  }
})

t.test('config.json is transformers\' DINOv3ConvNextConfig; heads take C = hidden_sizes[-1]; fp16 and int8 variants', async (t) => {
  const dir = scratchDir(t)
  writeSyntheticModel(dir, { family: 'convnext', preset: 'tiny', seed: 3, heads: { classes: 4 }, variants: ['fp16', 'quantized'] })
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
  t.match(config, { model_type: 'dinov3_convnext', architectures: ['DINOv3ConvNextModel'], hidden_sizes: [24, 48, 96, 192], depths: [1, 1, 2, 1], synthetic: true })
  for (const key of ['hidden_size', 'patch_size', 'num_register_tokens']) t.notOk(key in config, `no ${key}`)
  for (const head of ['segmentation', 'depth']) {
    const session = await ort.InferenceSession.create(join(dir, 'heads', head, 'model.onnx'))
    t.equal(session.inputMetadata[0].isTensor && session.inputMetadata[0].shape[1], 192, `${head} head takes 192 channels`)
    await session.release()
  }
  const pixels = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i / 7))
  const answers: Record<string, Float32Array> = {}
  for (const [variant, file] of [['fp32', 'model.onnx'], ['fp16', 'model_fp16.onnx'], ['quantized', 'model_quantized.onnx']]) {
    const session = await ort.InferenceSession.create(join(dir, 'onnx', file))
    const half = variant === 'fp16'
    const input = half ? new ort.Tensor('float16', float32ToFloat16(pixels), [1, 3, 64, 64]) : new ort.Tensor('float32', pixels, [1, 3, 64, 64])
    const out = (await session.run({ pixel_values: input })).last_hidden_state
    answers[variant] = half ? float16ToFloat32(out.data as Uint16Array) : out.data as Float32Array
    await session.release()
  }
  const cosine = (a: Float32Array, b: Float32Array): number => {
    let dot = 0; let na = 0; let nb = 0
    for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
    return dot / Math.sqrt(na * nb)
  }
  t.ok(cosine(answers.fp32, answers.fp16) > 0.999, 'fp16 ≈ fp32')
  t.ok(cosine(answers.fp32, answers.quantized) > 0.98, 'int8 ≈ fp32')
})

t.test('npm run model:synthetic -- --family convnext writes a folder; ViT-only options are refused', async (t) => {
  const out = join(scratchDir(t), 'convnext')
  const run = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/make-synthetic-model.ts', ...args], { timeout: 60_000 })
      .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error: { code: number, stdout: string, stderr: string }) => error)
  const made = await run('--family', 'convnext', '--preset', 'tiny', '--out', out, '--no-heads')
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, /SYNTHETIC tiny model .*ConvNeXt \[24, 48, 96, 192\], stride 32, 0 registers, 192 dims/)
  t.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model_type, 'dinov3_convnext')
  t.match(await run('--family', 'convnext', '--registers', '4'), { code: 2, stderr: /^error: --registers does not apply to --family convnext\n/ })
  t.match(await run('--family', 'convnext', '--image-size', '200', '--out', join(out, 'x')), { code: 2, stderr: /^error: image size 200 is not a multiple of the stride 32\n/ })
})
