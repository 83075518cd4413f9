import t from 'tap'
import { assertReport } from './assert-report.js'
import { runSoak, shortSoak } from './scenarios/soak.js'

t.test('hundreds of mixed requests: every answer as expected, RSS on its plateau after warm-up', { timeout: 120_000 }, async (t) => {
  assertReport(t, await runSoak(shortSoak))
})
