/**
 * tsx scripts/bench/lean-ladder.ts [--rounds 8] [--window 4] [--warmup-seconds 30] [--concurrency 8] [--batch N]
 *   [--env K=V ...]
 *
 * Where /embed's throughput goes between the raw session and the service, rung by rung, at one concurrency (one
 * inference instance):
 * - ceiling: the raw session on tensors made before the clock (the bench's ceiling: its best batch, or `--batch`);
 * - decode overlapped: the same session and batch, each batch's JPEGs decoded while the one before runs
 *   (decode-overlap.ts): the model beside the decoding, nothing else;
 * - core: the service's core task (decoding, batcher, inference thread) called in-process, no HTTP;
 * - lean HTTP: the same core behind bare node:http (lean-server.ts), the bench's client process sending;
 * - service: the service itself, the same client sending.
 * Each rung's window follows a ceiling window of its own, the rungs' order turning each round, and each ratio
 * divides sums, as the bench does. The 500×375 JPEG of the bench's /embed rows; prints a Markdown table.
 */
import { parseArgs } from 'node:util'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { DecodeOverlap } from './decode-overlap.js'
import { benchModel, photoJpeg } from './fixtures.js'
import { ortSettings } from './ort-settings.js'
import { RawSession } from './raw-session.js'
import { RemoteLoad } from './remote-load.js'
import { startService, type RunningService } from './service-process.js'
import type { CoreLoad } from './lean-server.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    window: { type: 'string', default: '4' },
    'warmup-seconds': { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '8' },
    batch: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] }
  }
})
const env = Object.fromEntries(values.env.map((pair) => pair.split('=') as [string, string]))
const window = Number(values.window)
const concurrency = Number(values.concurrency)
const pinnedBatch = values.batch === undefined ? undefined : Number(values.batch)
if (pinnedBatch !== undefined && !(Number.isInteger(pinnedBatch) && pinnedBatch >= 1)) throw new Error(`--batch must be a whole number of images, found ${values.batch}`)
const model = benchModel()
const jpeg = await photoJpeg(500, 375)
const bodyFile = join(mkdtempSync(join(tmpdir(), 'dinov3-ladder-')), 'body.jpg')
writeFileSync(bodyFile, jpeg)

type Window = { images: number, seconds: number }
type Rung = { name: string, run: (seconds: number) => Promise<Window> }

/** The bench's /embed input: the synthetic model's processor resizes to 224×224. */
const side = 224
const raw = await RawSession.open(model, { size: side, ...ortSettings(env) })
const serviceEnv = { MODEL: model, ...env }
const lean = await startService(serviceEnv, process.cwd(), { entry: 'scripts/bench/lean-server.ts', ipc: true })
const service = await startService(serviceEnv)
const load = RemoteLoad.start()
try {
  const overHttp = (server: RunningService) => async (seconds: number): Promise<Window> => {
    const result = await load.run({ url: `${server.url}/embed`, body: jpeg, contentType: 'image/jpeg', concurrency, seconds, warmupRequests: 0 })
    const failed = Object.entries(result.statuses).filter(([status]) => status !== '200')
    if (failed.length > 0) throw new Error(`answers other than 200: ${JSON.stringify(result.statuses)}`)
    return { images: result.requests, seconds: result.seconds }
  }
  const inProcess = async (seconds: number): Promise<Window> => await new Promise((resolve, reject) => {
    lean.child.once('message', (answer: Window | { error: string }) => 'error' in answer ? reject(new Error(answer.error)) : resolve(answer))
    lean.child.send({ clients: concurrency, seconds, bodyFile } satisfies CoreLoad)
  })
  const best = pinnedBatch ?? (await raw.sweep([1, 2, 4, 8], window)).best
  const overlap = await DecodeOverlap.open(raw, jpeg, readModelFolder(model, 'fp32'), { batch: best, size: side, nice: loadConfig(env).preprocessNice })
  const rungs: Rung[] = [
    { name: 'decode overlapped (no server)', run: async (seconds) => await overlap.run(seconds) },
    { name: 'core, in-process (no HTTP)', run: inProcess },
    { name: 'lean HTTP (node:http)', run: overHttp(lean) },
    { name: 'service', run: overHttp(service) }
  ]
  // The servers warm up as the bench's do; the decode-overlapped loop is the raw session's, which needs none.
  for (const rung of rungs.slice(1)) await rung.run(Number(values['warmup-seconds']))

  const rate = (w: Window): number => w.images / w.seconds
  const tallies = rungs.map((rung) => ({ rung, ceiling: { images: 0, seconds: 0 }, served: { images: 0, seconds: 0 }, ratios: [] as number[] }))
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const tally of round % 2 === 0 ? tallies : [...tallies].reverse()) {
      const ceiling = await raw.run(best, window)
      const served = await tally.rung.run(window)
      tally.ceiling.images += ceiling.images
      tally.ceiling.seconds += ceiling.seconds
      tally.served.images += served.images
      tally.served.seconds += served.seconds
      tally.ratios.push(rate(served) / rate(ceiling))
    }
  }
  process.stdout.write(`/embed of a 500×375 JPEG at concurrency ${concurrency}, ceiling at batch ${best}, ${values.rounds} rounds of ${window} s windows${values.env.length > 0 ? `, ${values.env.join(' ')}` : ''}\n\n`)
  process.stdout.write('| rung | img/s | ceiling img/s | × ceiling | windows, min–max |\n|---|---:|---:|---:|---|\n')
  for (const { rung, ceiling, served, ratios } of tallies) {
    const ratio = rate(served) / rate(ceiling)
    process.stdout.write(`| ${rung.name} | ${rate(served).toFixed(1)} | ${rate(ceiling).toFixed(1)} | ${ratio.toFixed(3)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |\n`)
  }
} finally {
  load.stop()
  await lean.stop()
  await service.stop()
  await raw.release()
}
