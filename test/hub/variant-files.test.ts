import t from 'tap'
import type { RepoFile } from '../../src/hub/hub-api.js'
import { HubError } from '../../src/hub/hub-errors.js'
import { availableVariants, filesForVariant, onnxPathForVariant } from '../../src/hub/variant-files.js'

const checksum = { algorithm: 'sha256', hex: '0'.repeat(64) } as const
const file = (path: string): RepoFile => ({ path, size: 1, checksum })

const listing = [
  'README.md',
  'config.json',
  'preprocessor_config.json',
  'onnx/model.onnx',
  'onnx/model.onnx_data',
  'onnx/model_fp16.onnx',
  'onnx/model_fp16.onnx_data_2',
  'onnx/model_fp16.onnx_data',
  'onnx/model_fp16.onnx_data_1',
  'onnx/model_q4f16.onnx',
  'onnx/model_quantized.onnx',
  'onnx/model_q4.onnx',
].map(file)

t.test('variant names map to ONNX paths', async (t) => {
  t.equal(onnxPathForVariant('fp32'), 'onnx/model.onnx')
  t.equal(onnxPathForVariant('fp16'), 'onnx/model_fp16.onnx')
  t.equal(onnxPathForVariant('quantized'), 'onnx/model_quantized.onnx')
})

t.test('available variants come from the listing, common ones first', async (t) => {
  t.same(availableVariants(listing), ['fp32', 'fp16', 'quantized', 'q4', 'q4f16'])
})

t.test('fp32 takes the graph and its external data, not the fp16 data', async (t) => {
  t.same(
    filesForVariant(listing, 'fp32', 'o/r').map((f) => f.path),
    ['config.json', 'preprocessor_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']
  )
})

t.test('external-data shards come in order', async (t) => {
  t.same(filesForVariant(listing, 'fp16', 'o/r').map((f) => f.path).slice(2), [
    'onnx/model_fp16.onnx',
    'onnx/model_fp16.onnx_data',
    'onnx/model_fp16.onnx_data_1',
    'onnx/model_fp16.onnx_data_2',
  ])
})

t.test('q4 does not pick up q4f16 files', async (t) => {
  t.same(filesForVariant(listing, 'q4', 'o/r').map((f) => f.path).slice(2), ['onnx/model_q4.onnx'])
})

t.test('a missing variant names the available ones', async (t) => {
  t.throws(() => filesForVariant(listing, 'int8', 'o/r'), {
    constructor: HubError,
    kind: 'unknown-variant',
    message: 'o/r has no int8 variant (onnx/model_int8.onnx); available: fp32, fp16, quantized, q4, q4f16',
  })
  t.throws(() => filesForVariant([file('config.json')], 'fp32', 'o/r'), {
    message: /available: none/,
  })
})

t.test('a repo without the support files or without checksums is refused', async (t) => {
  t.throws(() => filesForVariant([file('onnx/model.onnx'), file('config.json')], 'fp32', 'o/r'), {
    kind: 'invalid-response',
    message: /o\/r has no preprocessor_config\.json/,
  })
  const unverifiable = [...listing.filter((f) => f.path !== 'onnx/model.onnx'), { path: 'onnx/model.onnx', size: undefined, checksum: undefined }]
  t.throws(() => filesForVariant(unverifiable, 'fp32', 'o/r'), { message: /no size or checksum for onnx\/model\.onnx/ })
})
