import t from 'tap'
import { HubError } from '../../src/hub/hub-errors.js'
import { DEFAULT_ENDPOINT, hubSettingsFromEnv, isValidRepoId, repoFolderName } from '../../src/hub/hub-settings.js'

t.test('HF_ENDPOINT and HF_TOKEN are read like huggingface_hub reads them', async (t) => {
  t.same(hubSettingsFromEnv({}), { endpoint: DEFAULT_ENDPOINT, token: undefined })
  t.same(hubSettingsFromEnv({ HF_ENDPOINT: 'https://hf-mirror.example/', HF_TOKEN: ' hf_x \n' }), {
    endpoint: 'https://hf-mirror.example',
    token: 'hf_x',
  })
  t.same(hubSettingsFromEnv({ HF_ENDPOINT: '', HF_TOKEN: '' }), { endpoint: DEFAULT_ENDPOINT, token: undefined })
  t.throws(() => hubSettingsFromEnv({ HF_ENDPOINT: 'huggingface.co' }), { constructor: HubError, message: /HF_ENDPOINT is not a URL/ })
  t.throws(() => hubSettingsFromEnv({ HF_ENDPOINT: 'ftp://x' }), { message: /must be an http\(s\) URL/ })
})

t.test('hub ids and the folder they land in', async (t) => {
  t.ok(isValidRepoId('onnx-community/dinov3-vits16-pretrain-lvd1689m-ONNX'))
  t.notOk(isValidRepoId('dinov3'))
  t.notOk(isValidRepoId('a/b/c'))
  t.notOk(isValidRepoId('../etc'))
  t.notOk(isValidRepoId('owner/..'))
  t.equal(repoFolderName('onnx-community/dinov3-vits16-pretrain-lvd1689m-ONNX'), 'dinov3-vits16-pretrain-lvd1689m-ONNX')
})
