import { join } from 'node:path'
import t from 'tap'
import { Backbone } from '../../src/inference/backbone.js'
import { Batcher } from '../../src/inference/batcher.js'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { OrtHost } from '../../src/inference/ort-worker/ort-host.js'
import { TensorPool } from '../../src/inference/tensor-pool.js'
import { syntheticModel } from '../helpers/models.js'
import { startOrtHost } from '../helpers/ort-host.js'

const settings = { providers: ['cpu' as const], intraOpThreads: 1, spinning: false }
const quiet = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }
const wave = (length: number, phase: number): Float32Array => Float32Array.from({ length }, (_, i) => Math.sin(i / 5 + phase))

t.test('with into, the output is written into the buffer given, which goes to the inference thread and comes back', async (t) => {
  const file = join(syntheticModel({ preset: 'tiny' }), 'onnx', 'model.onnx')
  const host = await OrtHost.start()
  t.teardown(async () => { await host.close() })
  const session = await host.createSession(file, { executionProviders: ['cpu'] })
  const pixels = wave(3 * 32 * 48, 0)
  const feeds = () => ({ pixel_values: { type: 'float32' as const, data: pixels.slice(), dims: [1, 3, 32, 48] } })
  const expected = (await session.run(feeds(), ['last_hidden_state'])).last_hidden_state

  const given = new Float32Array(expected.data.length).fill(Number.NaN)
  const returned: ArrayBuffer[] = []
  const into = { last_hidden_state: { type: 'float32' as const, data: given, dims: expected.dims } }
  const outputs = await session.run(feeds(), ['last_hidden_state'], { handOver: true, recycle: (buffer) => returned.push(buffer), into })
  t.equal(given.buffer.byteLength, 0, 'the buffer given moved to the inference thread')
  t.same(outputs.last_hidden_state.dims, expected.dims)
  t.same(outputs.last_hidden_state.data, expected.data, 'it holds the answer: the NaNs it went with are all written over')
  t.equal(returned.length, 1, 'the handed-over feed still comes back beside it')
  t.same(new Float32Array(returned[0]), pixels)

  const both = await session.run(feeds(), ['last_hidden_state', 'pooler_output'])
  const partly = await session.run(feeds(), ['last_hidden_state', 'pooler_output'], {
    into: { last_hidden_state: { type: 'float32', data: new Float32Array(expected.data.length), dims: expected.dims } }
  })
  t.same(partly.last_hidden_state.data, expected.data, 'a buffer for one output of two')
  t.same(partly.pooler_output.dims, both.pooler_output.dims, 'and the other is made by onnxruntime, as without one')
  t.same(partly.pooler_output.data, both.pooler_output.data)
})

t.test('a backbone run with a pool writes its output into a buffer released to it, every value anew', async (t) => {
  for (const [family, size] of [['vit', { height: 32, width: 48 }], ['convnext', { height: 64, width: 96 }]] as const) {
    const folder = readModelFolder(syntheticModel({ family, preset: 'tiny', seed: 3 }), 'fp32')
    const backbone = await Backbone.load(await startOrtHost(t), folder, settings, quiet)
    const { height, width } = size
    const inputLength = 2 * 3 * height * width
    const [a, b] = [wave(inputLength, 0), wave(inputLength, 1)]
    const expectedA = await backbone.run(a.slice(), 2, height, width)
    const expectedB = await backbone.run(b.slice(), 2, height, width)
    const outputLength = expectedA.data.length

    const pool = new TensorPool(1 << 24)
    const first = await backbone.run(a.slice(), 2, height, width, pool)
    t.same(first.data, expectedA.data, `${family}: nothing waiting in the pool, the inference thread made the output`)
    t.equal(pool.held, inputLength * 4, `${family}: only the input went back to the pool`)

    pool.give(first.data.buffer as ArrayBuffer)
    const second = await backbone.run(b.slice(), 2, height, width, pool)
    t.same(second.data, expectedB.data, `${family}: the released buffer, used again, holds the second answer alone`)
    t.equal(pool.reuse(outputLength), undefined, `${family}: the output buffer left the pool for the run`)
    t.equal(pool.held, 2 * inputLength * 4, `${family}: both inputs are back`)
    t.equal(first.data.length, 0, `${family}: the released buffer moved to the inference thread for the second run`)
    t.equal(second.data.length, outputLength)
    await backbone.release()
  }
})

t.test('a float16 export gives float16 out: nothing is written into the pool\'s float32 buffers', async (t) => {
  const folder = readModelFolder(syntheticModel({ preset: 'tiny', seed: 3, variants: ['fp16'] }), 'fp16')
  const backbone = await Backbone.load(await startOrtHost(t), folder, settings, quiet)
  const pixels = wave(3 * 32 * 48, 2)
  const expected = await backbone.run(pixels.slice(), 1, 32, 48)
  const pool = new TensorPool(1 << 24)
  pool.give(new ArrayBuffer(expected.data.length * 4))
  const answer = await backbone.run(pixels.slice(), 1, 32, 48, pool)
  t.same(answer.data, expected.data)
  t.equal(pool.held, expected.data.length * 4 + pixels.length * 4, 'the waiting buffer stayed; the float32 input came back')
  await backbone.release()
})

t.test('a batch\'s output goes back to the pool once every image of it has released it, each counted once', async (t) => {
  const folder = readModelFolder(syntheticModel({ preset: 'tiny', seed: 3 }), 'fp32')
  const backbone = await Backbone.load(await startOrtHost(t), folder, settings, quiet)
  const tensors = new TensorPool(1 << 24)
  const batcher = new Batcher(backbone, { maxBatchSize: 4, batchWaitMs: 20, incomingWaitMs: 0, tensors })
  const image = (phase: number): { pixels: Float32Array, height: number, width: number } => ({ pixels: wave(3 * 32 * 48, phase), height: 32, width: 48 })
  const alone = async (phase: number): Promise<Float32Array> => (await batcher.submit(image(phase))).tokens.slice()

  const expected = [await alone(0), await alone(1), await alone(2)]
  const outputs = await Promise.all(batcher.submitAll([image(0), image(1), image(2)]))
  t.equal(outputs[0].batchSize, 3, 'one batch of three')
  outputs.forEach((output, i) => t.same(output.tokens, expected[i], `image ${i}`))
  const batchOutput = outputs[0].tokens.buffer
  const batchBytes = batchOutput.byteLength
  const heldBefore = tensors.held
  outputs[0].release?.()
  outputs[0].release?.()
  outputs[1].release?.()
  t.equal(tensors.held, heldBefore, 'two of three released (one of them twice): the output is still theirs')
  outputs[2].release?.()
  t.equal(tensors.held, heldBefore + batchBytes, 'the third: back in the pool')

  // The next batch of three writes into it, and each image reads only its own answer.
  const again = await Promise.all(batcher.submitAll([image(2), image(0), image(1)]))
  t.equal(again[0].tokens.buffer.byteLength, batchBytes)
  t.equal(batchOutput.byteLength, 0, 'the released buffer went to the inference thread for the run')
  again.forEach((output, i) => t.same(output.tokens, expected[[2, 0, 1][i]], `image ${i} of the batch that used it again`))
  await backbone.release()
})
