import t from 'tap'
import { startApp } from '../helpers/app.js'
import { multipartBody, patternPng } from '../helpers/images.js'
import { assertReport } from './assert-report.js'
import { fuzzSeed, runFuzz, shortFuzz } from './scenarios/fuzz.js'
import { stressModel } from './scenarios/service.js'

t.test('mutated images and queries on every POST endpoint: only 2xx and 4xx, no crash', { timeout: 120_000 }, async (t) => {
  const seed = fuzzSeed(1)
  t.comment(`fuzz seed ${seed} (replay a run with FUZZ_SEED=${seed}, one case with npm run stress -- fuzz --seed ${seed} --case <i>)`)
  assertReport(t, await runFuzz(shortFuzz(seed)))
})

t.test('what the fuzzer found, pinned: a multipart form cut short or without its boundary is a 400, not a 500', { timeout: 60_000 }, async (t) => {
  const app = await startApp(t, stressModel(), { PREPROCESS_NICE: '0' })
  const form = multipartBody([{ data: await patternPng(32, 32) }, { data: await patternPng(24, 24) }])
  const cases = [
    { name: 'cut inside the second file', type: form.contentType, body: form.body.subarray(0, form.body.length - 200) },
    { name: 'cut before the closing boundary', type: form.contentType, body: form.body.subarray(0, form.body.length - 10) },
    { name: 'an empty boundary', type: 'multipart/form-data; boundary=', body: form.body }
  ]
  for (const { name, type, body } of cases) {
    const response = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': type }, payload: body })
    t.equal(response.statusCode, 400, `${name}: ${response.body}`)
    t.equal(response.json().error, 'bad_request', name)
  }
})
