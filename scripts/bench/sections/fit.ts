import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config.js'
import { engineOptionsFromConfig, fitHead, type FitState, type FittedHeadJson } from '../../../src/fitting/index.js'
import { Engine } from '../../../src/inference/engine.js'
import { readModelFolder } from '../../../src/inference/model-folder.js'
import { StageTimes } from '../../../src/inference/stages.js'
import { embed } from '../../../src/inference/tasks/embed.js'
import { photoJpeg } from '../fixtures.js'
import { fitDataset } from '../fit-dataset.js'
import { describeEnv, table } from '../markdown.js'
import { round, summarise, type LatencySummary } from '../stats.js'

export interface FitBench {
  images: number
  side: number
  classes: number
  epochs: number
  /** The fit alone on an idle engine: the issue's ratio. */
  extractionSeconds: number
  trainingSeconds: number
  ratio: number
  metrics: FittedHeadJson['metrics']
  spilled: boolean
  env: Record<string, string>
  /** /embed-path latency (640×480 JPEG, one caller in a closed loop) alone and while a smaller fit runs. */
  serving: {
    fitImages: number
    alone: LatencySummary
    duringExtraction?: LatencySummary
    duringTraining?: LatencySummary
    duringFit: LatencySummary
    fitSeconds: number
  }
}

const quiet = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }

/**
 * Fits a 21-class segmentation head on 100 images of 512² with the ViT-S-sized backbone, in this process through the
 * serving Engine: extraction and training times apart (target: training ≤ half of extraction); then serving latency
 * alone and while a fit runs (target: p50 within 2×).
 */
export async function fitBenchmark (model: string, options: { images: number, side: number, servingSeconds: number, servingFitImages: number, env: Record<string, string>, log: (m: string) => void }): Promise<FitBench> {
  const config = loadConfig({ MODEL: model, LOG_LEVEL: 'silent', ...options.env })
  const engine = await Engine.start(readModelFolder(model, config.variant), engineOptionsFromConfig(config), quiet)
  const heads = mkdtempSync(join(tmpdir(), 'dinov3-bench-heads-'))
  try {
    await engine.warmUp()
    const classes = 21
    const { labels, images } = fitDataset(options.images, options.side, classes)
    options.log(`fitting ${images.length} images of ${options.side}² alone`)
    // The training thread runs at nice 15 in the service; here, alone, at nice 0 like extraction's inference thread,
    // so that the ratio compares the two phases' work and not the scheduler's view of other load on a shared machine.
    let lastState = ''
    const alone = await fitHead(engine, { task: 'segmentation', name: 'bench', labels, train: images }, heads, (p) => {
      const state = `${p.state} ${p.epoch ?? ''}`
      if (state !== lastState) options.log(`${p.state}${p.epoch === undefined ? '' : ` epoch ${p.epoch}/${p.epochs ?? '?'}`} ${Math.round(p.progress * 100)}%`)
      lastState = state
    }, undefined, { nice: 0 })
    const { fitted } = alone.headJson

    const jpeg = await photoJpeg(640, 480)
    const request = async (): Promise<number> => {
      const started = performance.now()
      const context = { times: new StageTimes(), heldPixels: 0 }
      await embed(engine, [jpeg], { pooling: 'cls', normalize: false, size: { kind: 'processor' }, format: 'json' }, context)
      engine.pixels.release(context)
      return performance.now() - started
    }
    for (let i = 0; i < 5; i++) await request()
    options.log(`serving latency alone, ${options.servingSeconds} s`)
    const aloneSamples: number[] = []
    const until = performance.now() + options.servingSeconds * 1000
    while (performance.now() < until) aloneSamples.push(await request())

    options.log(`serving latency during a fit of ${options.servingFitImages} images`)
    const tagged: Array<{ state: FitState, ms: number }> = []
    let state: FitState = 'extracting'
    let fitDone = false
    const fitStarted = performance.now()
    const fit = fitHead(engine, { task: 'segmentation', name: 'bench-loaded', labels, train: images.slice(0, options.servingFitImages) }, heads, (p) => { state = p.state })
      .finally(() => { fitDone = true })
    while (!fitDone) {
      const at = state
      tagged.push({ state: at, ms: await request() })
    }
    await fit
    const fitSeconds = (performance.now() - fitStarted) / 1000
    const of = (s: FitState): LatencySummary | undefined => {
      const samples = tagged.filter((x) => x.state === s).map((x) => x.ms)
      return samples.length === 0 ? undefined : summarise(samples)
    }
    return {
      images: images.length,
      side: options.side,
      classes,
      epochs: fitted.epochs,
      extractionSeconds: fitted.extraction_seconds,
      trainingSeconds: fitted.training_seconds,
      ratio: fitted.training_seconds / fitted.extraction_seconds,
      metrics: alone.headJson.metrics,
      spilled: fitted.spilled,
      env: options.env,
      serving: {
        fitImages: options.servingFitImages,
        alone: summarise(aloneSamples),
        duringExtraction: of('extracting'),
        duringTraining: of('training'),
        duringFit: summarise(tagged.map((x) => x.ms)),
        fitSeconds
      }
    }
  } finally {
    await engine.close()
    rmSync(heads, { recursive: true, force: true })
  }
}

export function renderFit (f: FitBench): string[] {
  const s = f.serving
  const ratio = (l?: LatencySummary): string => l === undefined ? '-' : `${round(l.p50 / s.alone.p50, 2)}×`
  return [
    '## Fitting a head on the frozen backbone',
    '',
    `A linear segmentation head (${f.classes} classes) fitted by \`fitHead\` on ${f.images} synthetic scenes of ${f.side}×${f.side}, ` +
      'in this process through the serving Engine (features through its batcher; training on a thread of its own, one ' +
      `intra-op thread; at nice 0 for this row, nice 15 when serving), ${f.epochs} epochs, 20% held out${f.spilled ? ', features spilled to disk' : ''}. ` +
      `Service settings: ${describeEnv(f.env)}. Target: training at most half the time of the feature extraction.`,
    '',
    ...table(['extraction s', 'training s (incl. scoring the held-out images)', 'training / extraction', 'held-out mIoU', 'pixel accuracy'], 'rrrrr', [[
      round(f.extractionSeconds, 1), round(f.trainingSeconds, 1), round(f.ratio, 3), round(f.metrics.miou ?? NaN, 3), round(f.metrics.pixel_accuracy ?? NaN, 3)
    ]]),
    '',
    'Serving while fitting: the /embed path (a 640×480 JPEG, one caller in a closed loop, in process) alone, then while a ' +
      `fit of ${s.fitImages} of the same images runs (${round(s.fitSeconds, 1)} s). Target: p50 within 2×.`,
    '',
    ...table(['window', 'p50 ms', 'p95 ms', 'p50 against alone'], 'lrrr', [
      ['alone', round(s.alone.p50), round(s.alone.p95), '1×'],
      ...(s.duringExtraction === undefined ? [] : [['during the fit: extracting', round(s.duringExtraction.p50), round(s.duringExtraction.p95), ratio(s.duringExtraction)]]),
      ...(s.duringTraining === undefined ? [] : [['during the fit: training', round(s.duringTraining.p50), round(s.duringTraining.p95), ratio(s.duringTraining)]]),
      ['during the fit: all', round(s.duringFit.p50), round(s.duringFit.p95), ratio(s.duringFit)]
    ]),
    ''
  ]
}
