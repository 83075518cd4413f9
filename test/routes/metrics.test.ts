import { spawnSync } from 'node:child_process'
import type { Test } from 'tap'
import t from 'tap'
import { startApp, imageHeaders } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

async function scrape (t: Test): Promise<string> {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const png = await patternPng(64, 48)
  await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  await app.inject({ method: 'POST', url: '/features', headers: imageHeaders(), payload: png })
  await app.inject({ method: 'POST', url: '/embed?pool=nope', headers: imageHeaders(), payload: png })
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  return response.body
}

t.test('the exposition holds every metric the service promises, with real values', async (t) => {
  const text = await scrape(t)
  for (const family of [
    'dinov3_http_requests_total', 'dinov3_http_request_duration_seconds', 'dinov3_stage_duration_seconds', 'dinov3_batch_size',
    'dinov3_backbone_run_duration_seconds', 'dinov3_queue_depth', 'dinov3_requests_in_flight', 'dinov3_failures_total',
    'dinov3_model_info', 'dinov3_ready', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'
  ]) {
    t.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family)
  }
  t.match(text, /dinov3_http_requests_total\{route="\/embed",method="POST",status="200"\} 1\n/)
  t.match(text, /dinov3_http_requests_total\{route="\/embed",method="POST",status="400"\} 1\n/)
  t.match(text, /dinov3_failures_total\{code="bad_request"\} 1\n/)
  for (const stage of ['decode', 'preprocess', 'queue', 'inference', 'postprocess']) {
    t.match(text, new RegExp(`dinov3_stage_duration_seconds_count\\{stage="${stage}"\\} [1-9]`), `stage ${stage} observed`)
  }
  t.match(text, /dinov3_batch_size_count [1-9]/)
  t.match(text, /dinov3_model_info\{[^}]*provider="cpu"[^}]*synthetic="true"\} 1/)
  // Geometric buckets, from 1 ms doubling.
  t.match(text, /dinov3_http_request_duration_seconds_bucket\{le="0\.001",/)
  t.match(text, /dinov3_http_request_duration_seconds_bucket\{le="0\.002",/)
  t.match(text, /dinov3_http_request_duration_seconds_bucket\{le="0\.004",/)
})

t.test('every line follows the text exposition format', async (t) => {
  const text = await scrape(t)
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$/
  const typed = new Set<string>()
  for (const line of text.split('\n').filter((l) => l !== '')) {
    if (line.startsWith('# HELP ')) continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      t.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type), `${name} type ${type}`)
      t.notOk(typed.has(name), `${name} typed once`)
      typed.add(name)
      continue
    }
    if (!sample.test(line)) t.fail(`not a sample line: ${line}`)
    const family = line.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, '')
    if (!typed.has(family) && !typed.has(line.split(/[{ ]/)[0])) t.fail(`sample before its TYPE: ${line}`)
  }
})

const promtool = spawnSync('promtool', ['--version']).status === 0
t.test('promtool check metrics accepts it', { skip: promtool ? false : 'promtool not found: apt-get install prometheus (Debian) to run this check' }, async (t) => {
  const text = await scrape(t)
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  // Exit 3 would be lint findings (a gauge named like a counter, a missing unit suffix...): none is allowed.
  t.equal(result.status, 0, `promtool exit ${result.status}`)
  t.same(`${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== ''), [], 'no lint finding')
  t.notMatch(text, /^nodejs_active_\w+_total/m, 'the gauges named like counters are gone')
  t.match(text, /^nodejs_active_handles\{type="\w+"\} \d+$/m, 'their breakdown by type stays, and sums to the same totals')
})
