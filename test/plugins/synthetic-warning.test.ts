import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { logLines, type LogLine } from '../helpers/log-lines.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'

/** The app with its pino log captured, as `npm start` would write it. */
async function startLogged (t: Test, env: Record<string, string>): Promise<{ lines: LogLine[], synthetic: boolean }> {
  const { stream, lines } = logLines()
  const app = await buildApp(loadConfig({ WARMUP: 'false', ...env }), { logger: { level: 'info', stream } })
  t.teardown(async () => app.close())
  await app.ready()
  await app.modelHost.loaded
  const synthetic = (await app.inject({ method: 'GET', url: '/models' })).json().backbone.synthetic
  return { lines, synthetic }
}

const warnings = (lines: LogLine[]): string[] => lines.filter((line) => line.level === 40).map((line) => line.msg)

t.test('a folder written by model:synthetic is flagged as loudly as the fallback, and /models says so', async (t) => {
  const folder = await startLogged(t, { MODEL: syntheticModel({ preset: 'tiny' }) })
  t.equal(folder.synthetic, true)
  const warning = warnings(folder.lines).find((message) => /SYNTHETIC/.test(message))
  t.ok(warning, 'a warning names it synthetic')
  t.match(warning, /RANDOM weights\. Its answers mean nothing/)

  const fallback = await startLogged(t, { MODELS_DIR: scratchDir(t) })
  t.equal(fallback.synthetic, true)
  const fallbackWarning = warnings(fallback.lines).find((message) => /SYNTHETIC/.test(message))
  t.match(fallbackWarning, /^NO MODEL FOUND: .*RANDOM weights\. Its answers mean nothing/)
  t.equal(warnings(fallback.lines).filter((message) => /SYNTHETIC/.test(message)).length, 1, 'the fallback is warned about once, not twice')
})

t.test('a folder without the synthetic marker is served without the warning', async (t) => {
  const dir = join(scratchDir(t), 'real-looking')
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  const configFile = join(dir, 'config.json')
  const config = JSON.parse(readFileSync(configFile, 'utf8'))
  t.equal(config.synthetic, true, 'the generator writes the marker')
  delete config.synthetic
  writeFileSync(configFile, JSON.stringify(config))
  const real = await startLogged(t, { MODEL: dir })
  t.equal(real.synthetic, false)
  t.same(warnings(real.lines).filter((message) => /SYNTHETIC/.test(message)), [])
})
