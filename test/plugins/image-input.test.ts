import { execFile, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { nativeJpeg } from '../../src/image/native-jpeg.js'
import { startApp } from '../helpers/app.js'
import { patternJpeg } from '../helpers/images.js'
import { logLines, type LogLine } from '../helpers/log-lines.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'

const hint = /curl --data-binary sends unless told otherwise: add -H 'content-type: image\/jpeg' .*-H 'content-type: application\/octet-stream'/

t.test('a form-encoded body (curl --data-binary without -H) is refused with the header that fixes it', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const jpeg = await patternJpeg(64, 48)
  for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8']) {
    const response = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': type }, payload: jpeg })
    t.equal(response.statusCode, 415, type)
    t.same(Object.keys(response.json()).sort(), ['error', 'message'])
    t.equal(response.json().error, 'unsupported_media_type')
    t.match(response.json().message, hint, type)
  }
  const fixed = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': 'image/jpeg' }, payload: jpeg })
  t.equal(fixed.statusCode, 200, 'the suggested header works')
  const other = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(other.statusCode, 415)
  t.notMatch(other.json().message, /curl/, 'other wrong types keep the general message')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_failures_total\{code="unsupported_media_type"\} 3/)
})

t.test('what curl itself sends gets that answer', { skip: spawnSync('curl', ['--version']).status === 0 ? false : 'curl not found' }, async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const file = join(scratchDir(t), 'photo.jpg')
  writeFileSync(file, await patternJpeg(64, 48))
  const { stdout } = await promisify(execFile)('curl', ['-s', '-w', '\n%{http_code}', '--data-binary', `@${file}`, `${address}/embed`])
  const [body, status] = stdout.split('\n')
  t.equal(status, '415')
  t.match(JSON.parse(body).message, hint)
})

t.test('a native JPEG decoder that was asked for and is missing is a warning, which a log at warn still shows', async (t) => {
  const warningsOf = async (env: Record<string, string>): Promise<LogLine[]> => {
    const { stream, lines } = logLines()
    const app = await buildApp(loadConfig({ MODEL: syntheticModel({ preset: 'tiny' }), WARMUP: 'false', ...env }), { logger: { level: 'warn', stream } })
    await app.ready()
    await app.close()
    return lines.filter((line) => line.level === 40 && /native JPEG/.test(line.msg))
  }
  const { module, unavailable } = nativeJpeg
  t.teardown(() => Object.assign(nativeJpeg, { module, unavailable }))
  Object.assign(nativeJpeg, { module: undefined, unavailable: 'build/native/jpeg-rgb.node is not built (scripts/build-native.sh)' })

  const missing = await warningsOf({})
  t.equal(missing.length, 1)
  t.match(missing[0], { msg: /every JPEG is decoded with sharp/, reason: 'build/native/jpeg-rgb.node is not built (scripts/build-native.sh)' })
  t.same(await warningsOf({ NATIVE_JPEG: 'false' }), [], 'NATIVE_JPEG=false: sharp by choice, nothing to warn of')
})
