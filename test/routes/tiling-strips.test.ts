import t from 'tap'
import { planStrips } from '../../src/inference/dense/decode-strips.js'
import { planWindows } from '../../src/inference/dense/window-plan.js'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

const model = syntheticModel({ preset: 'tiny', seed: 31, heads: { classes: 5 } })

t.test('windows decoded from several strips give exactly the one-strip answer', async (t) => {
  const [width, height] = [150, 400]
  const tiling = { tile: 64, overlap: 16 }
  // 120 rows per strip: rows of windows 64 tall start every 48 pixels, so each strip holds two of them.
  const stripPixels = width * 120
  const plan = planWindows({ width, height }, tiling, 16, 1024)
  const strips = planStrips([...new Set(plan.origins.map((o) => o.y))], plan.window.height, { width, height }, stripPixels)
  t.ok(strips.length >= 4, `${strips.length} strips`)
  t.ok(strips.some((s) => s.top > 0 && s.rows.some((top) => top > s.top)), 'some windows start below their strip\'s first row')

  const png = await patternPng(width, height, 7)
  const oneStrip = await startApp(t, model)
  const manyStrips = await startApp(t, model, { STRIP_PIXELS: String(stripPixels) })
  for (const path of ['/features', '/depth', '/segment']) {
    const url = `${path}?tile=${tiling.tile}&overlap=${tiling.overlap}`
    const whole = await oneStrip.inject({ method: 'POST', url, headers: imageHeaders(), payload: png })
    const strip = await manyStrips.inject({ method: 'POST', url, headers: imageHeaders(), payload: png })
    t.equal(strip.statusCode, 200, url)
    t.ok(strip.rawPayload.equals(whole.rawPayload), `${url}: the same bytes`)
  }
})
