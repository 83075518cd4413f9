import t from 'tap'
import { assertReport } from './assert-report.js'
import { runOverload, shortOverload } from './scenarios/overload.js'

t.test('10× capacity over loopback: the excess gets 429 with Retry-After, the rest keeps its latency, and it recovers', { timeout: 90_000 }, async (t) => {
  assertReport(t, await runOverload(shortOverload))
})
