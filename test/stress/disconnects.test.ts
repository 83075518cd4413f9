import t from 'tap'
import { assertReport } from './assert-report.js'
import { runDisconnects, shortDisconnects } from './scenarios/disconnects.js'
import { runSlowUpload, shortSlowUpload } from './scenarios/slow-upload.js'

t.test('clients that vanish mid-upload, queued, decoding or tiling leak nothing and cost no model run', { timeout: 90_000 }, async (t) => {
  assertReport(t, await runDisconnects(shortDisconnects))
})

t.test('a body trickled byte by byte is cut off at UPLOAD_TIMEOUT_MS without holding the only model slot', { timeout: 60_000 }, async (t) => {
  assertReport(t, await runSlowUpload(shortSlowUpload))
})
