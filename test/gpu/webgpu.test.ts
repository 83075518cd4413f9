import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { decodeNpy } from '../../src/image/npy.js'
import { fromFloat16Bits, toFloat16Bits } from '../../src/inference/float16.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { maxAbsDiff } from '../helpers/reference.js'
import { ensureRuntimeDir, LAVAPIPE_HINT, NO_VULKAN_DRIVER, webgpuUnavailable } from '../helpers/webgpu.js'
import { spawnServer } from '../stress/scenarios/server-process.js'

// The WebGPU provider on lavapipe compiles every shader on the CPU with LLVM, per input shape: the tiny model, few
// requests, and the same few shapes throughout keep this file to tens of seconds.
const TOLERANCE = 5e-6

ensureRuntimeDir()
const model = syntheticModel({ preset: 'tiny', seed: 13, variants: ['fp16'] })
const unavailable = await webgpuUnavailable(join(model, 'onnx', 'model.onnx'))
const noAdapter = unavailable === undefined ? false : `WebGPU cannot run here (${unavailable}). ${LAVAPIPE_HINT}`

async function post (app: FastifyInstance, url: string, payload: Buffer, contentType = 'image/png'): Promise<Buffer> {
  const response = await app.inject({ method: 'POST', url, headers: imageHeaders(contentType), payload })
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
  return response.rawPayload
}

const embeddings = async (app: FastifyInstance, payload: Buffer, contentType?: string): Promise<number[][]> =>
  JSON.parse((await post(app, '/embed?pool=cls%2Bmean', payload, contentType)).toString()).embeddings

const features = async (app: FastifyInstance, payload: Buffer): Promise<{ data: Float32Array, shape: readonly number[] }> => {
  const { data, shape } = decodeNpy(await post(app, '/features', payload))
  return { data: data as Float32Array, shape }
}

t.test('EXECUTION_PROVIDERS=webgpu serves /embed and /features within 5e-6 of the CPU', { skip: noAdapter }, async (t) => {
  const cpu = await startApp(t, model, { EXECUTION_PROVIDERS: 'cpu' })
  const gpu = await startApp(t, model, { EXECUTION_PROVIDERS: 'webgpu' })

  const models = (await gpu.inject({ method: 'GET', url: '/models' })).json()
  t.equal(models.backbone.execution_provider, 'webgpu', '/models reports webgpu')
  t.match((await gpu.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_model_info\{[^}]*provider="webgpu"[^}]*\} 1/, 'dinov3_model_info too')
  t.equal((await cpu.inject({ method: 'GET', url: '/models' })).json().backbone.execution_provider, 'cpu')

  const images = await Promise.all([1, 2].map(async (seed) => patternPng(80, 64, seed)))
  let largest = 0
  for (const [i, image] of images.entries()) {
    const [expected, got] = [(await embeddings(cpu, image))[0], (await embeddings(gpu, image))[0]]
    t.equal(got.length, 64, 'cls+mean of 32 channels')
    const embedDiff = maxAbsDiff(got, expected)
    t.ok(embedDiff <= TOLERANCE, `image ${i}: /embed differs by ${embedDiff.toExponential(2)} at most`)

    const [cpuMap, gpuMap] = [await features(cpu, image), await features(gpu, image)]
    t.same(gpuMap.shape, [32, 4, 5], '/features [C, h, w] for 80×64')
    const featureDiff = maxAbsDiff(gpuMap.data, cpuMap.data)
    t.ok(featureDiff <= TOLERANCE, `image ${i}: /features differs by ${featureDiff.toExponential(2)} at most`)
    largest = Math.max(largest, embedDiff, featureDiff)
  }
  t.ok(largest > 0, 'other kernels than the CPU\'s computed it (a CPU session reported as webgpu would agree bit for bit)')
  t.ok(maxAbsDiff((await embeddings(gpu, images[0]))[0], (await embeddings(gpu, images[1]))[0]) > 1e-3, 'the images give different answers')
})

t.test('a multipart batch on the WebGPU provider equals the single answers, in one backbone run', { skip: noAdapter }, async (t) => {
  const gpu = await startApp(t, model, { EXECUTION_PROVIDERS: 'webgpu' })
  const images = await Promise.all([3, 4, 5].map(async (seed) => patternPng(80, 64, seed)))
  const { body, contentType } = multipartBody(images.map((data) => ({ data, type: 'image/png' })))
  const runsBefore = gpu.modelHost.require().backbone.runCount
  const batched = await embeddings(gpu, body, contentType)
  t.equal(gpu.modelHost.require().backbone.runCount - runsBefore, 1, 'three files, one backbone run')
  t.equal(batched.length, 3)
  for (const [i, image] of images.entries()) {
    const diff = maxAbsDiff(batched[i], (await embeddings(gpu, image))[0])
    t.ok(diff <= TOLERANCE, `file ${i}: batched differs from single by ${diff.toExponential(2)} at most`)
  }
  t.ok(maxAbsDiff(batched[0], batched[1]) > 1e-3, 'the files differ, so order matters')
})

t.test('an fp16 variant on WebGPU takes and gives float16 and agrees with the CPU to one half-precision step', { skip: noAdapter }, async (t) => {
  const cpu = await startApp(t, model, { EXECUTION_PROVIDERS: 'cpu', MODEL_VARIANT: 'fp16' })
  const gpu = await startApp(t, model, { EXECUTION_PROVIDERS: 'webgpu', MODEL_VARIANT: 'fp16' })
  const backbone = (await gpu.inject({ method: 'GET', url: '/models' })).json().backbone
  t.same([backbone.variant, backbone.execution_provider], ['fp16', 'webgpu'])

  const image = await patternPng(80, 64, 6)
  const [expected, got] = [await features(cpu, image), await features(gpu, image)]
  t.same(got.shape, [32, 4, 5])
  const halves = got.data.filter((v) => fromFloat16Bits(toFloat16Bits(v)) === v).length
  t.equal(halves, got.data.length, 'every value is a float16 widened: the output was read as half precision')
  let worst = 0
  for (let i = 0; i < got.data.length; i++) {
    // One step of float16 at this magnitude: the fp32 compute inside may round either side of a half-way point.
    const step = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(expected.data[i]), 2 ** -14))) - 10)
    worst = Math.max(worst, Math.abs(got.data[i] - expected.data[i]) / step)
  }
  t.ok(worst <= 1, `within ${worst} half-precision steps of the CPU`)
  const fp32 = await features(await startApp(t, model, { EXECUTION_PROVIDERS: 'cpu' }), image)
  t.ok(maxAbsDiff(got.data, fp32.data) > 0, 'the fp16 variant really is another model (rounded weights), not fp32 served twice')
})

t.test('webgpu,cpu where WebGPU cannot load serves on CPU with a warning; webgpu alone refuses to start', async (t) => {
  const env = { MODEL: model, LOG_LEVEL: 'warn', ...NO_VULKAN_DRIVER }
  const server = await spawnServer({ ...env, EXECUTION_PROVIDERS: 'webgpu,cpu' }, 120_000)
  t.teardown(server.kill)
  const models = JSON.parse((await server.client.send('/models')).body.toString())
  t.equal(models.backbone.execution_provider, 'cpu', '/models reports the fallback')
  const warning = server.log().split('\n').find((line) => line.includes('execution provider webgpu could not load'))
  t.ok(warning, 'the fallback is logged')
  t.match(JSON.parse(warning ?? '{}'), { level: 40, provider: 'webgpu', msg: /trying the next one/ }, 'as a warning naming the provider')
  await server.kill()

  const refused = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, ...env, EXECUTION_PROVIDERS: 'webgpu', PORT: '0', HOST: '127.0.0.1' },
    timeout: 120_000
  }).then(() => ({ code: 0, stderr: '' }), (error: { code: number, stderr: string }) => error)
  t.equal(refused.code, 1, 'exit 1: a list without cpu never serves on CPU')
  t.match(refused.stderr, /cannot serve the model: .*(webgpu|WebGPU|adapter)/)
})
