import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { HubError } from '../../src/hub/hub-errors.js'
import { pullModel, type PullModelOptions } from '../../src/hub/pull-model.js'
import { startFakeHub, unusedEndpoint, type FakeHub } from './fake-hub.js'

const FP32_FILES = ['config.json', 'preprocessor_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']

function collectOutput () {
  const chunks: string[] = []
  return { stream: { write: (text: string) => chunks.push(text), isTTY: false }, text: () => chunks.join('') }
}

function pull (hub: FakeHub, dir: string, overrides: Partial<PullModelOptions> = {}) {
  return pullModel({
    repoId: hub.repoId,
    variant: 'fp32',
    revision: 'main',
    dir,
    endpoint: hub.endpoint,
    progressStream: collectOutput().stream,
    // Fast retries keep the suite at a few seconds.
    retry: { attempts: 3, backoffMs: 5, stallTimeoutMs: 2000 },
    ...overrides,
  })
}

function content (hub: FakeHub, path: string): Buffer {
  return hub.files.find((file) => file.path === path)!.content
}

async function assertPulled (t: Test, hub: FakeHub, modelDir: string, paths: string[]) {
  for (const path of paths) {
    t.same(await readFile(join(modelDir, path)), content(hub, path), `${path} is byte-identical`)
    t.notOk(existsSync(join(modelDir, `${path}.part`)), `${path}.part is gone`)
  }
}

async function startHub (t: Test, ...args: Parameters<typeof startFakeHub>) {
  const hub = await startFakeHub(...args)
  t.teardown(() => hub.close())
  return hub
}

t.test('a fresh pull gives byte-identical files for the variant only', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  const output = collectOutput()
  const result = await pull(hub, dir, { progressStream: output.stream })

  t.equal(result.modelDir, join(dir, 'tiny-dinov3-ONNX'))
  t.equal(result.onnxPath, 'onnx/model.onnx')
  t.equal(result.commitSha, hub.sha)
  t.same(result.files.map((file) => [file.path, file.outcome]), FP32_FILES.map((path) => [path, 'downloaded']))
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
  t.notOk(existsSync(join(result.modelDir, 'onnx/model_fp16.onnx')), 'other variants are not fetched')
  t.notOk(existsSync(join(result.modelDir, 'README.md')), 'unneeded files are not fetched')
  t.ok(
    hub.requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.url.includes(`/resolve/${hub.sha}/`)),
    'downloads are pinned to the listed commit'
  )
  t.match(output.text(), /fetching onnx\/model\.onnx_data/)
  t.match(output.text(), /onnx\/model\.onnx_data: done/)
})

t.test('a non-fp32 variant with sharded external data', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  const result = await pull(hub, dir, { variant: 'q4' })
  const expected = ['config.json', 'preprocessor_config.json', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1']
  t.same(result.files.map((file) => file.path), expected)
  await assertPulled(t, hub, result.modelDir, expected)
})

for (const redirect of ['same-server', 'relative', 'other-server'] as const) {
  t.test(`redirects to the CDN are followed (${redirect})`, async (t) => {
    const hub = await startHub(t, { switches: { redirect } })
    const dir = t.testdir()
    const result = await pull(hub, dir)
    await assertPulled(t, hub, result.modelDir, FP32_FILES)
    const cdnHits = hub.requests.filter((r) => r.url.startsWith('/cdn/'))
    t.equal(cdnHits.length, FP32_FILES.length, 'every file came through the CDN route')
    t.ok(cdnHits.every((r) => r.server === (redirect === 'other-server' ? 'cdn' : 'hub')))
  })
}

t.test('the token goes to the hub but not to a CDN on another host', async (t) => {
  const hub = await startHub(t, { switches: { redirect: 'other-server', requireToken: 'hf_secret' } })
  const dir = t.testdir()
  const result = await pull(hub, dir, { token: 'hf_secret' })
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
  const hubHits = hub.requests.filter((r) => r.server === 'hub')
  const cdnHits = hub.requests.filter((r) => r.server === 'cdn')
  t.ok(hubHits.length > 0 && hubHits.every((r) => r.authorization === 'Bearer hf_secret'))
  t.ok(cdnHits.length > 0 && cdnHits.every((r) => r.authorization === undefined), 'no Authorization on the CDN')
})

t.test('a connection dropped mid-body resumes with a Range request for the rest only', async (t) => {
  const hub = await startHub(t)
  const dropAt = 100_000
  hub.switches.dropAfterBytes.set('onnx/model.onnx_data', dropAt)
  const dir = t.testdir()
  const output = collectOutput()
  const result = await pull(hub, dir, { progressStream: output.stream })
  await assertPulled(t, hub, result.modelDir, FP32_FILES)

  const hits = hub.contentRequests('onnx/model.onnx_data')
  t.equal(hits.length, 2, 'one dropped request, one resume')
  t.equal(hits[0].range, undefined)
  // fetch may discard a last chunk that was still buffered when the socket died, so the
  // resume can start a little before dropAt; it must never start at 0 or past the drop.
  const resumeAt = Number(/^bytes=(\d+)-$/.exec(hits[1].range ?? '')?.[1])
  t.ok(resumeAt > 0 && resumeAt <= dropAt, `the resume asks only for the missing bytes (${hits[1].range})`)
  t.equal(hits[1].status, 206)
  t.match(output.text(), /onnx\/model\.onnx_data: .*retrying from/)
})

t.test('a connection that keeps dropping fails clearly after the retries and keeps the .part', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  const path = 'onnx/model.onnx_data'
  hub.switches.alwaysDropAfterBytes.set(path, 1000)
  const error = await pull(hub, dir).catch((e: unknown) => e)
  t.type(error, HubError)
  t.match((error as HubError).message, /downloading onnx\/model\.onnx_data failed after 3 attempts: .*run the command again to resume/)
  t.ok(existsSync(join(dir, 'tiny-dinov3-ONNX', `${path}.part`)), 'the partial file stays for the next run')
  t.notOk(existsSync(join(dir, 'tiny-dinov3-ONNX', path)))
  const starts = hub.contentRequests(path).map((r) => Number(/^bytes=(\d+)-$/.exec(r.range ?? '')?.[1] ?? 0))
  t.equal(starts.length, 3)
  t.ok(starts[0] === 0 && starts[1] > 0 && starts[2] > starts[1], `each attempt resumes further on (${starts.join(', ')})`)
})

t.test('a connection that goes silent is abandoned after the stall timeout and resumed', async (t) => {
  const hub = await startHub(t)
  const path = 'onnx/model.onnx_data'
  hub.switches.stallAfterBytes.set(path, 30_000)
  const output = collectOutput()
  const result = await pull(hub, t.testdir(), {
    progressStream: output.stream,
    retry: { attempts: 3, backoffMs: 5, stallTimeoutMs: 200 },
  })
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
  t.same(hub.contentRequests(path).map((r) => r.range), [undefined, 'bytes=30000-'])
  t.match(output.text(), /no data for 0\.2 s; retrying from/)
})

t.test('a .part left by an earlier run is resumed', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  const path = 'onnx/model.onnx_data'
  const already = 70_000
  await mkdir(join(dir, 'tiny-dinov3-ONNX', 'onnx'), { recursive: true })
  await writeFile(join(dir, 'tiny-dinov3-ONNX', `${path}.part`), content(hub, path).subarray(0, already))
  const result = await pull(hub, dir)
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
  const hits = hub.contentRequests(path)
  t.equal(hits.length, 1)
  t.equal(hits[0].range, `bytes=${already}-`)
})

t.test('a server that ignores Range is handled by starting the file over', async (t) => {
  const hub = await startHub(t, { switches: { honourRange: false } })
  const dir = t.testdir()
  const path = 'onnx/model.onnx_data'
  await mkdir(join(dir, 'tiny-dinov3-ONNX', 'onnx'), { recursive: true })
  await writeFile(join(dir, 'tiny-dinov3-ONNX', `${path}.part`), content(hub, path).subarray(0, 5000))
  const output = collectOutput()
  const result = await pull(hub, dir, { progressStream: output.stream })
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
  const hits = hub.contentRequests(path)
  t.equal(hits.length, 1)
  t.equal(hits[0].range, 'bytes=5000-')
  t.equal(hits[0].status, 200)
  t.match(output.text(), /does not support resuming; starting over/)
})

t.test('a checksum mismatch fails, names the file and leaves neither file nor .part', async (t) => {
  const hub = await startHub(t)
  const path = 'onnx/model.onnx'
  hub.switches.corrupt.add(path)
  const dir = t.testdir()
  const error = await pull(hub, dir).catch((e: unknown) => e)
  t.type(error, HubError)
  t.equal((error as HubError).kind, 'integrity')
  const expected = (await import('node:crypto')).createHash('sha256').update(content(hub, path)).digest('hex')
  t.match((error as HubError).message, `checksum mismatch for ${path}: expected sha256 ${expected}, got `)
  t.notOk(existsSync(join(dir, 'tiny-dinov3-ONNX', path)))
  t.notOk(existsSync(join(dir, 'tiny-dinov3-ONNX', `${path}.part`)))
})

t.test('a corrupted plain git file fails its blob-id check', async (t) => {
  const hub = await startHub(t)
  hub.switches.corrupt.add('config.json')
  const error = await pull(hub, t.testdir()).catch((e: unknown) => e)
  t.match((error as HubError).message, /checksum mismatch for config\.json: expected git blob sha1 [0-9a-f]{40}, got/)
})

t.test('a gated repo: 401 without HF_TOKEN, success with it', async (t) => {
  const hub = await startHub(t, { switches: { requireToken: 'hf_good' } })
  const dir = t.testdir()
  const refused = await pull(hub, dir).catch((e: unknown) => e)
  t.type(refused, HubError)
  t.equal((refused as HubError).kind, 'unauthorized')
  t.match((refused as HubError).message, `model ${hub.repoId} on ${hub.endpoint} is gated or private: set HF_TOKEN to a token with access`)

  const wrongToken = await pull(hub, dir, { token: 'hf_bad' }).catch((e: unknown) => e)
  t.match((wrongToken as HubError).message, /gated or private.*the HF_TOKEN that was sent got HTTP 401/)

  const result = await pull(hub, dir, { token: 'hf_good' })
  await assertPulled(t, hub, result.modelDir, FP32_FILES)
})

t.test('a gated repo whose listing is public refuses at the first download', async (t) => {
  const hub = await startHub(t, { switches: { requireToken: 'hf_good', gatedFilesOnly: true } })
  const error = await pull(hub, t.testdir()).catch((e: unknown) => e)
  t.equal((error as HubError).kind, 'unauthorized')
  t.match((error as HubError).message, /is gated or private: set HF_TOKEN/)
})

t.test('an unknown variant lists the ones the repo has', async (t) => {
  const hub = await startHub(t)
  const error = await pull(hub, t.testdir(), { variant: 'int8' }).catch((e: unknown) => e)
  t.equal((error as HubError).kind, 'unknown-variant')
  t.equal((error as HubError).message, `${hub.repoId} has no int8 variant (onnx/model_int8.onnx); available: fp32, fp16, q4`)
  t.equal(hub.requests.filter((r) => r.url.includes('/resolve/')).length, 0, 'nothing is downloaded')
})

t.test('an unknown repo and an unknown revision', async (t) => {
  const hub = await startHub(t)
  const missingRepo = await pull(hub, t.testdir(), { repoId: 'test-org/nope' }).catch((e: unknown) => e)
  t.equal((missingRepo as HubError).kind, 'not-found')
  t.match((missingRepo as HubError).message, `no model test-org/nope on ${hub.endpoint}`)
  const missingRevision = await pull(hub, t.testdir(), { revision: 'v9' }).catch((e: unknown) => e)
  t.match((missingRevision as HubError).message, `no revision "v9" of ${hub.repoId}`)
})

t.test('an unreachable endpoint gives the offline message', async (t) => {
  const endpoint = await unusedEndpoint()
  const error = await pullModel({
    repoId: 'test-org/tiny-dinov3-ONNX',
    variant: 'fp32',
    revision: 'main',
    dir: t.testdir(),
    endpoint,
    progressStream: collectOutput().stream,
  }).catch((e: unknown) => e)
  t.type(error, HubError)
  t.equal((error as HubError).kind, 'offline')
  t.match(
    (error as HubError).message,
    new RegExp(`^cannot reach ${endpoint}: .*ECONNREFUSED.*; check your network or set HF_ENDPOINT to a mirror$`)
  )
})

t.test('files already complete are skipped without a second GET', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  await pull(hub, dir)
  const firstRunHits = hub.requests.filter((r) => r.filePath !== undefined).length
  t.equal(firstRunHits, FP32_FILES.length)

  const output = collectOutput()
  const again = await pull(hub, dir, { progressStream: output.stream })
  t.same(again.files.map((file) => file.outcome), FP32_FILES.map(() => 'skipped'))
  t.equal(hub.requests.filter((r) => r.filePath !== undefined).length, firstRunHits, 'no file was requested again')
  t.match(output.text(), /onnx\/model\.onnx: already present, checksum ok/)
})

t.test('a local file that differs from the hub is downloaded again', async (t) => {
  const hub = await startHub(t)
  const dir = t.testdir()
  await pull(hub, dir)
  const modelPath = join(dir, 'tiny-dinov3-ONNX', 'onnx/model.onnx')
  const tampered = Buffer.from(content(hub, 'onnx/model.onnx'))
  tampered[0] ^= 1
  await writeFile(modelPath, tampered)
  const again = await pull(hub, dir)
  t.equal(again.files.find((file) => file.path === 'onnx/model.onnx')?.outcome, 'downloaded')
  t.same(await readFile(modelPath), content(hub, 'onnx/model.onnx'))
})

t.test('a server sending the wrong size is a size mismatch, not an endless retry', async (t) => {
  const hub = await startHub(t)
  const path = 'preprocessor_config.json'
  hub.switches.servedContent.set(path, Buffer.concat([content(hub, path), Buffer.from(' ')]))
  const dir = t.testdir()
  const error = await pull(hub, dir).catch((e: unknown) => e)
  t.equal((error as HubError).kind, 'integrity')
  t.match((error as HubError).message, new RegExp(`size mismatch for ${path}: expected ${content(hub, path).length} bytes, got ${content(hub, path).length + 1}`))
  t.equal(hub.contentRequests(path).length, 1, 'no retries')
  t.notOk(existsSync(join(dir, 'tiny-dinov3-ONNX', `${path}.part`)))
})
