import { photoJpeg } from '../fixtures.js'
import { closedLoop, mergeInProcess, type InProcessWindow } from '../in-process-load.js'
import type { LoadResult } from '../load.js'
import { describeEnv, table } from '../markdown.js'
import { ortSettings } from '../ort-settings.js'
import { RawSession } from '../raw-session.js'
import { RemoteLoad } from '../remote-load.js'
import { startService } from '../service-process.js'
import { serviceEmbedPixels } from '../service-preprocess.js'
import { round, type LatencySummary } from '../stats.js'
import { loadTransformersPeer } from '../transformers-peer.js'
import { cosine, maxAbsDifference, serviceCls } from '../vectors.js'
import { assertAllOk, mergeWindows } from '../windows.js'

export interface SameModelCheck {
  image: string
  /** Each side's own decoding and preprocessing. */
  endToEndCosine: number
  /** transformers.js's model fed the service's pixel tensor: the models alone. */
  samePixelsCosine: number
  pixelDifference: { max: number, mean: number }
}

export interface PeerRow {
  peerConcurrency: number
  peer: { throughput: number, latency: LatencySummary, calls: number }
  service: LoadResult
  ratio: number
  /** The raw session at its best batch, in the same alternation: what no server can pass. */
  ceiling: number
}

export interface PeerComparison {
  version: string
  loadMs: number
  processorClass: string
  modelClass: string
  threads: number
  serviceConcurrency: number
  ceilingBatch: number
  rounds: number
  checks: SameModelCheck[]
  rows: PeerRow[]
  env: Record<string, string>
}

/**
 * The service's /embed against transformers.js's image-feature-extraction pipeline on the same model folder and the
 * same 500×375 JPEG. transformers.js runs in this process (it is a library: no server, no batching across calls);
 * its windows alternate with the service's, whose client is the separate low-priority process, so neither side's
 * load competes with the other's work. The raw session at its best batch runs a third window in each round: no server
 * can pass it, so ceiling ÷ transformers.js is the most any server could reach on this machine.
 */
export async function peerTransformers (model: string, options: { seconds: number, rounds: number, peerConcurrencies: number[], serviceConcurrency: number, env: Record<string, string> }): Promise<PeerComparison> {
  const settings = ortSettings(options.env)
  const { threads } = settings
  const peer = await loadTransformersPeer(model, { threads })
  const raw = await RawSession.open(model, { size: 224, ...settings })
  const body = await photoJpeg(500, 375)
  const service = await startService({ MODEL: model, ...options.env })
  const load = RemoteLoad.start()
  const window = options.seconds / options.rounds
  try {
    const checks: SameModelCheck[] = []
    for (const [name, jpeg] of [['500×375 JPEG (resized to 224²)', body], ['224×224 JPEG (no resize)', await photoJpeg(224, 224)]] as const) {
      const ours = await serviceEmbedPixels(model, jpeg)
      const theirs = await peer.pixelValues(jpeg)
      const cls = await serviceCls(service.url, jpeg)
      checks.push({
        image: name,
        endToEndCosine: cosine(cls, await peer.embed(jpeg)),
        samePixelsCosine: cosine(cls, await peer.clsOfPixels(ours.data, ours.dims)),
        pixelDifference: maxAbsDifference(ours.data, theirs.data)
      })
    }

    const request = { url: `${service.url}/embed`, body, contentType: 'image/jpeg', concurrency: options.serviceConcurrency }
    assertAllOk(await load.run({ ...request, seconds: 0, warmupRequests: options.serviceConcurrency * 2 }), '/embed')
    const ceilingBatch = (await raw.sweep([1, 2, 4, 8], Math.min(1, window))).best
    const rows: PeerRow[] = []
    for (const concurrency of options.peerConcurrencies) {
      await closedLoop(() => peer.embed(body), concurrency, Math.min(1, window))
      const peerWindows: InProcessWindow[] = []
      const serviceWindows: LoadResult[] = []
      let rawImages = 0
      let rawSeconds = 0
      for (let round = 0; round < options.rounds; round++) {
        peerWindows.push(await closedLoop(() => peer.embed(body), concurrency, window))
        serviceWindows.push(await load.run({ ...request, seconds: window, warmupRequests: 0 }))
        const r = await raw.run(ceilingBatch, window)
        rawImages += r.images
        rawSeconds += r.seconds
      }
      const peerResult = mergeInProcess(peerWindows)
      const serviceResult = mergeWindows(serviceWindows)
      assertAllOk(serviceResult, '/embed')
      rows.push({ peerConcurrency: concurrency, peer: peerResult, service: serviceResult, ratio: serviceResult.throughput / peerResult.throughput, ceiling: rawImages / rawSeconds })
    }
    return {
      version: peer.version,
      loadMs: peer.loadMs,
      processorClass: peer.processorClass,
      modelClass: peer.modelClass,
      threads,
      serviceConcurrency: options.serviceConcurrency,
      ceilingBatch,
      rounds: options.rounds,
      checks,
      rows,
      env: options.env
    }
  } finally {
    load.stop()
    await service.stop()
    await peer.dispose()
    await raw.release()
  }
}

export function renderPeer (p: PeerComparison): string[] {
  const best = p.rows.reduce((a, b) => (b.peer.throughput > a.peer.throughput ? b : a))
  const unresized = p.checks.find((c) => c.image.includes('no resize'))
  return [
    '## /embed against transformers.js',
    '',
    `transformers.js ${p.version} (\`@huggingface/transformers\`, on the same onnxruntime-node), ` +
      '`pipeline(\'image-feature-extraction\', …, { pool: true })` in the benchmark process, loading the bench\'s model folder offline ' +
      '(`env.localModelPath` its parent, `env.allowRemoteModels = false`, `local_files_only`, `dtype: \'fp32\'`, `subfolder: \'onnx\'`, ' +
      `\`use_external_data_format: true\` for onnx/model.onnx_data; intraOpNumThreads ${p.threads} as the service, the rest its defaults). ` +
      `It loaded in ${round(p.loadMs)} ms as ${p.modelClass} with ${p.processorClass} (the config's DINOv3ViTImageProcessorFast, ` +
      'looked up without the "Fast").',
    '',
    'Same model: the CLS embedding of each side, cosine. "Same pixels" feeds transformers.js\'s model the service\'s pixel tensor, ' +
      'which isolates the models; "end to end" lets each side decode and preprocess.',
    '',
    ...table(['image', 'cosine, same pixels', 'cosine, end to end', 'pixel tensors: largest / mean absolute difference'], 'lrrr',
      p.checks.map((c) => [c.image, c.samePixelsCosine.toFixed(6), c.endToEndCosine.toFixed(6), `${c.pixelDifference.max.toPrecision(3)} / ${c.pixelDifference.mean.toPrecision(3)}`])),
    '',
    'Preprocessing differs in the resize only: transformers.js resizes with sharp\'s `affine` and a bilinear interpolator ' +
      '(point sampling, no antialiasing on a downscale), the service with libvips\' `resize` and the linear kernel the processor\'s ' +
      '`resample: 2` names (a reducing filter, as PIL\'s bilinear). Decoding (both sharp) and the rescale and normalisation ' +
      `agree: without a resize the tensors differ by at most ${unresized?.pixelDifference.max.toPrecision(3) ?? 'n/a'}.`,
    '',
    'Throughput on the 500×375 JPEG: transformers.js at several concurrencies (concurrent calls of one pipeline), each row ' +
      `alternating ${p.rounds} windows with the service's /embed at concurrency ${p.serviceConcurrency} (settings: ${describeEnv(p.env)}) ` +
      `and with the raw ONNX Runtime session at its best batch (${p.ceilingBatch}, pre-made 224² tensors): the ceiling no server can pass.`,
    '',
    ...table(['transformers.js concurrency', 'transformers.js img/s', 'p50 ms', 'service img/s', 'service p50 ms', 'ceiling img/s', 'service ÷ transformers.js', 'ceiling ÷ transformers.js'], 'rrrrrrrr',
      p.rows.map((r) => [r.peerConcurrency, round(r.peer.throughput), round(r.peer.latency.p50), round(r.service.throughput), round(r.service.latency.p50),
        round(r.ceiling), round(r.ratio, 2), round(r.ceiling / r.peer.throughput, 2)])),
    '',
    `Against transformers.js at its best concurrency (${best.peerConcurrency}): the service is **${round(best.ratio, 2)}×** ` +
      `(target ≥ 1.3×: ${best.ratio >= 1.3 ? 'met' : 'missed'} in this run), and the raw session ${round(best.ceiling / best.peer.throughput, 2)}×.` +
      (best.ceiling / best.peer.throughput < 1.3
        ? ' The ceiling itself is under 1.3×: on this machine transformers.js already runs the same onnxruntime session near it, ' +
          'and a server can only win by the share of time transformers.js loses outside the model (its preprocessing, its calls not ' +
          'overlapping); batching gains little on a CPU, where a larger batch does not run much faster per image (it pays on a GPU).'
        : ''),
    ''
  ]
}
