import { badRequest } from '../../errors.js'
import type { Encoded, Engine } from '../engine.js'
import type { Head } from '../heads/head.js'
import type { RequestContext } from '../stages.js'
import { patchGrid } from '../tokens.js'

export interface ScoredLabel {
  label: string
  score: number
}

/** top_k when the client names none: five, or all the classes of a head with fewer. */
export const DEFAULT_TOP_K = 5

/** The k a request asks for, against the head's class count (1..K); undefined: the default, capped at K. */
export function resolveTopK (head: Head, topK: number | undefined): number {
  const classes = head.labels?.length ?? 0
  if (topK === undefined) return Math.min(DEFAULT_TOP_K, classes)
  if (!Number.isInteger(topK) || topK < 1 || topK > classes) {
    throw badRequest(`top_k=${topK} is out of range: head "${head.name}" has ${classes} classes, so use 1 to ${classes}`)
  }
  return topK
}

/**
 * The best classes of each image, highest score first. The backbone sees each image at the processor's size, exactly
 * as /embed does by default (classification probes are trained and evaluated that way); the head gets the CLS token and
 * the patch grid of that pass. Images whose grids match share one head run.
 */
export async function classifyImages (engine: Engine, images: Buffer[], head: Head, topK: number, context: RequestContext): Promise<ScoredLabel[][]> {
  const encoded = await engine.encodeImages(images, async (bytes) => engine.prepareForEmbedding(bytes, context), context)
  const probabilities = new Array<Float32Array>(encoded.length)
  for (const group of byGrid(encoded)) {
    const rows = await runHead(engine, head, group.map((i) => encoded[i]), context)
    group.forEach((image, row) => { probabilities[image] = rows[row] })
  }
  return context.times.time('postprocess', () => probabilities.map((p) => topLabels(p, head.labels ?? [], topK)))
}

async function runHead (engine: Engine, head: Head, batch: Encoded[], context: RequestContext): Promise<Float32Array[]> {
  const channels = engine.backbone.hiddenSize
  const { height, width } = batch[0].grid
  const cells = height * width
  const clsToken = new Float32Array(batch.length * channels)
  const patchFeatures = new Float32Array(batch.length * channels * cells)
  batch.forEach(({ output }, i) => {
    clsToken.set(output.tokens.subarray(0, channels), i * channels)
    patchFeatures.set(patchGrid(output, engine.backbone.registers, height, width), i * channels * cells)
  })
  // An end-to-end head takes the normalised pixels of the same pass.
  const pixels = head.endToEnd ? joinPixels(batch) : undefined
  const started = performance.now()
  const output = await head.run({ clsToken, patchFeatures, pixels, batch: batch.length, channels, gridHeight: height, gridWidth: width, height: height * engine.patchSize, width: width * engine.patchSize })
  context.times.add('inference', performance.now() - started)
  const classes = output.planes
  return batch.map((_, i) => output.data.subarray(i * classes, (i + 1) * classes))
}

function joinPixels (batch: Encoded[]): Float32Array {
  const size = batch[0].pixels.length
  const joined = new Float32Array(batch.length * size)
  batch.forEach((e, i) => joined.set(e.pixels, i * size))
  return joined
}

/** Indices of the images, grouped by patch grid (one group when the processor resizes to a fixed size). */
function byGrid (encoded: Encoded[]): number[][] {
  const groups = new Map<string, number[]>()
  encoded.forEach((e, i) => {
    const key = `${e.grid.height}x${e.grid.width}`
    groups.set(key, [...(groups.get(key) ?? []), i])
  })
  return [...groups.values()]
}

/** Ties keep the class order, so equal scores answer the same way every time. */
export function topLabels (scores: Float32Array, labels: string[], k: number): ScoredLabel[] {
  return Array.from(scores, (score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k)
    .map(({ index, score }) => ({ label: labels[index], score }))
}
