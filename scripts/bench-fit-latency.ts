/**
 * npx tsx scripts/bench-fit-latency.ts [--seconds 15] [--rounds 3] [--concurrency 1]
 *
 * Does fitting starve serving? /embed latency (224², closed loop) on the ViT-S-sized synthetic model, idle and while
 * a segmentation job runs (its feature extraction shares the serving batcher, its training has a thread of its own),
 * in alternating windows of the same run. Reports the p50 of each phase and its ratio to idle (target ≤ 2x).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { scene, SCENE_LABELS } from '../test/fitting/scenes.js'
import { fitForm, field, file, TOKEN, bearer } from '../test/helpers/fit-form.js'
import { benchModel, photoJpeg } from './bench/fixtures.js'
import { round, summarise } from './bench/stats.js'
import { commandLineMistake, parseCommandLine } from './command-line.js'

const USAGE = 'usage: npx tsx scripts/bench-fit-latency.ts [--seconds 15] [--rounds 3] [--concurrency 1]'
const { values } = parseCommandLine(USAGE, {
  options: {
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' }
  }
})
const [seconds, rounds, concurrency] = [values.seconds, values.rounds, values.concurrency].map(Number)
if (![seconds, rounds, concurrency].every((n) => Number.isFinite(n) && n > 0)) commandLineMistake(USAGE, 'options take positive numbers')

const log = (message: string): void => { process.stderr.write(`[fit-latency] ${new Date().toISOString().slice(11, 19)} ${message}\n`) }
const headsDir = mkdtempSync(join(tmpdir(), 'fit-latency-'))
const app = await buildApp(loadConfig({ MODEL: benchModel(), ADMIN_TOKEN: TOKEN, HEADS_DIR: headsDir, LOG_LEVEL: 'silent' }), { logger: false })
await app.ready()
await app.modelHost.loaded
const image = await photoJpeg(224, 224)
const embed = async (): Promise<void> => {
  const response = await app.inject({ method: 'POST', url: '/embed', headers: { 'content-type': 'image/jpeg' }, payload: image })
  if (response.statusCode !== 200) throw new Error(`/embed answered ${response.statusCode}: ${response.body}`)
}
const jobState = async (name: string): Promise<string> =>
  (await app.inject({ method: 'GET', url: `/heads/${name}/job`, headers: bearer() })).json().state

/** A closed loop of /embed calls for `seconds`, each sample tagged with what the fitting job was doing when it ended. */
async function window (phase: () => string): Promise<Array<{ ms: number, phase: string }>> {
  const samples: Array<{ ms: number, phase: string }> = []
  const until = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const started = performance.now()
      await embed()
      samples.push({ ms: performance.now() - started, phase: phase() })
    }
  }))
  return samples
}

// A job larger than a window: 8 scenes of 128², extracted in a few seconds, then many epochs of training, cancelled once the window ends.
const scenes = Array.from({ length: 8 }, (_, i) => scene(i, 128, 128))
const { payload, contentType } = fitForm([field('labels', SCENE_LABELS.join(',')), ...scenes.flatMap((s, i) => [file('image', `${i}.png`, s.png), file('mask', `${i}-mask.png`, s.mask)])])
for (let i = 0; i < 10; i++) await embed()

const all: Array<{ ms: number, phase: string }> = []
for (let round = 0; round < rounds; round++) {
  log(`round ${round + 1}/${rounds}: idle window`)
  all.push(...await window(() => 'idle'))
  const name = `bench-${round}`
  const accepted = await app.inject({ method: 'POST', url: `/heads/${name}?task=segmentation&epochs=1000`, headers: { ...bearer(), 'content-type': contentType }, payload })
  if (accepted.statusCode !== 202) throw new Error(`the fit was refused: ${accepted.body}`)
  let state = 'queued'
  const poll = setInterval(() => { jobState(name).then((s) => { state = s }, () => {}) }, 100)
  log(`round ${round + 1}/${rounds}: window while ${name} runs`)
  all.push(...await window(() => state))
  clearInterval(poll)
  log(`round ${round + 1}/${rounds}: the job reached ${state}; cancelling it`)
  await app.inject({ method: 'DELETE', url: `/heads/${name}`, headers: bearer() })
}
await app.close()
rmSync(headsDir, { recursive: true, force: true })

const idle = summarise(all.filter((s) => s.phase === 'idle').map((s) => s.ms))
const rows = ['idle', 'extracting', 'training'].map((phase) => {
  const samples = all.filter((s) => s.phase === phase).map((s) => s.ms)
  if (samples.length === 0) return `| ${phase} | 0 | – | – | – |`
  const summary = summarise(samples)
  return `| ${phase} | ${samples.length} | ${round(summary.p50)} | ${round(summary.p95)} | ${round(summary.p50 / idle.p50, 2)}x |`
})
const busy = all.filter((s) => s.phase === 'extracting' || s.phase === 'training').map((s) => s.ms)
const busyP50 = summarise(busy).p50
process.stdout.write([
  `/embed 224² at concurrency ${concurrency}, ${rounds} rounds of ${seconds} s idle and ${seconds} s while a segmentation head is fitted (8 scenes of 128², 1000 epochs)`,
  '',
  '| fitting job | requests | p50 ms | p95 ms | p50 / idle p50 |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  `while fitting (any phase): p50 ${round(busyP50)} ms, ${round(busyP50 / idle.p50, 2)}x idle (target ≤ 2x)`,
  ''
].join('\n'))
