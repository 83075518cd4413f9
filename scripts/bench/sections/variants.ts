import { photoJpeg } from '../fixtures.js'
import type { LoadResult } from '../load.js'
import { describeEnv, table } from '../markdown.js'
import { ortSettings } from '../ort-settings.js'
import { RawSession } from '../raw-session.js'
import { RemoteLoad } from '../remote-load.js'
import { startService, type RunningService } from '../service-process.js'
import { round } from '../stats.js'
import { cosine, serviceCls } from '../vectors.js'
import { assertAllOk, mergeWindows } from '../windows.js'

export interface VariantComparison {
  variant: string
  /** Raw img/s at each batch, fp32 and the variant, alternating. */
  raw: Array<{ batch: number, fp32: number, variant: number, ratio: number }>
  service: { concurrency: number, fp32: LoadResult, variant: LoadResult, ratio: number }
  cosines: Array<{ image: string, cosine: number }>
  rssMiB: { fp32: number, variant: number }
  rounds: number
  env: Record<string, string>
}

/**
 * fp32 against another variant of the same graph (int8 dynamically quantized: onnx/model_quantized.onnx): the raw
 * sessions alternate window by window, and so do two services, one per variant (an idle service takes no CPU with
 * spinning off, so both can stay up). Cosines of the CLS embeddings say what the speed costs in agreement.
 */
export async function variants (model: string, options: { variant: string, seconds: number, rounds: number, batches: number[], concurrency: number, imageSizes: Array<[number, number]>, env: Record<string, string> }): Promise<VariantComparison> {
  const settings = ortSettings(options.env)
  const window = options.seconds / options.rounds
  const raw: VariantComparison['raw'] = []
  const sessions = [await RawSession.open(model, { size: 224, ...settings }), await RawSession.open(model, { size: 224, ...settings, variant: options.variant })]
  try {
    for (const batch of options.batches) {
      const sums = [{ images: 0, seconds: 0 }, { images: 0, seconds: 0 }]
      for (let round = 0; round < options.rounds; round++) {
        for (const [i, session] of sessions.entries()) {
          const r = await session.run(batch, window)
          sums[i].images += r.images
          sums[i].seconds += r.seconds
        }
      }
      const [fp32, variant] = sums.map((s) => s.images / s.seconds)
      raw.push({ batch, fp32, variant, ratio: variant / fp32 })
    }
  } finally {
    for (const session of sessions) await session.release()
  }

  const services: RunningService[] = []
  const load = RemoteLoad.start()
  try {
    services.push(await startService({ MODEL: model, ...options.env, MODEL_VARIANT: 'fp32' }))
    services.push(await startService({ MODEL: model, ...options.env, MODEL_VARIANT: options.variant }))
    const body = await photoJpeg(500, 375)
    const cosines: VariantComparison['cosines'] = []
    for (const [width, height] of options.imageSizes) {
      const jpeg = await photoJpeg(width, height)
      const [a, b] = [await serviceCls(services[0].url, jpeg), await serviceCls(services[1].url, jpeg)]
      cosines.push({ image: `${width}×${height}`, cosine: cosine(a, b) })
    }
    const request = (service: RunningService): { url: string, body: Buffer, contentType: string, concurrency: number } =>
      ({ url: `${service.url}/embed`, body, contentType: 'image/jpeg', concurrency: options.concurrency })
    for (const service of services) assertAllOk(await load.run({ ...request(service), seconds: 0, warmupRequests: options.concurrency * 2 }), '/embed')
    const windows: LoadResult[][] = [[], []]
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, service] of services.entries()) windows[i].push(await load.run({ ...request(service), seconds: window, warmupRequests: 0 }))
    }
    const [fp32, variant] = windows.map((w) => mergeWindows(w))
    assertAllOk(fp32, '/embed fp32')
    assertAllOk(variant, `/embed ${options.variant}`)
    return {
      variant: options.variant,
      raw,
      service: { concurrency: options.concurrency, fp32, variant, ratio: variant.throughput / fp32.throughput },
      cosines,
      rssMiB: { fp32: services[0].rssMiB(), variant: services[1].rssMiB() },
      rounds: options.rounds,
      env: options.env
    }
  } finally {
    load.stop()
    for (const service of services) await service.stop()
  }
}

export function renderVariants (v: VariantComparison): string[] {
  const worst = Math.min(...v.cosines.map((c) => c.cosine))
  return [
    `## Variants: fp32 against ${v.variant}`,
    '',
    `The same synthetic graph as onnx/model.onnx (fp32) and onnx/model_${v.variant}.onnx (the service's MODEL_VARIANT=${v.variant}; ` +
      'int8 weights per output column, activations quantized dynamically). Raw sessions at 224×224 alternate ' +
      `${v.rounds} windows each per batch size; two services (settings: ${describeEnv(v.env)}) alternate /embed windows on the 500×375 JPEG.`,
    '',
    ...table(['', 'fp32 img/s', `${v.variant} img/s`, `${v.variant} ÷ fp32`], 'lrrr', [
      ...v.raw.map((r) => [`raw session, batch ${r.batch}`, round(r.fp32), round(r.variant), round(r.ratio, 2)]),
      [`/embed, concurrency ${v.service.concurrency}`, round(v.service.fp32.throughput), round(v.service.variant.throughput), round(v.service.ratio, 2)]
    ]),
    '',
    `Resident memory of the services after the run: fp32 ${Math.round(v.rssMiB.fp32)} MiB, ${v.variant} ${Math.round(v.rssMiB.variant)} MiB.`,
    '',
    `CLS embeddings of fp32 and ${v.variant} (cosine): ${v.cosines.map((c) => `${c.image}: ${c.cosine.toFixed(5)}`).join(', ')}; ` +
      `lowest ${worst.toFixed(5)}. The weights are random, so this is the quantization error of this graph, not a retrieval-quality figure for real DINOv3 weights.`,
    ''
  ]
}
