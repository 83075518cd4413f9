import t from 'tap'
import { assertReport } from './assert-report.js'
import { runShutdown, shortShutdown } from './scenarios/shutdown.js'

t.test('SIGTERM with requests in flight: they finish, newcomers get 503 or a refused connection, exit 0 in the grace period', { timeout: 90_000 }, async (t) => {
  assertReport(t, await runShutdown(shortShutdown))
})
