import { badRequest } from '../../errors.js'
import { runDense, type DenseMode } from '../dense/run-dense.js'
import { headTarget, type DenseTarget } from '../dense/targets.js'
import type { Engine } from '../engine.js'
import type { Head } from '../heads/head.js'
import type { RequestContext } from '../stages.js'
import { poolTokens, type Pooling } from '../tokens.js'
import { depthImage } from './depth.js'
import { asBuffer, labelImage, summariseClasses, type ClassSummary } from './segment.js'

export const analyzeTasks = ['embed', 'segment', 'depth'] as const
export type AnalyzeTask = typeof analyzeTasks[number]

export interface AnalyzeOptions {
  tasks: AnalyzeTask[]
  pooling: Pooling
  normalize: boolean
  /** The heads of the segment and depth tasks asked for. */
  heads: Partial<Record<'segment' | 'depth', Head>>
  mode: DenseMode
}

export interface AnalyzedImage {
  width: number
  height: number
  embedding?: { pool: Pooling, normalized: boolean, dim: number, vector: number[] }
  segmentation?: { head: string, labels: string[], classes: ClassSummary[], mask_png: string }
  depth?: { head: string, unit: string, min: number, max: number, mean: number, scale: number, offset: number, png16: string }
}

/** `tasks=` as asked: each known task once, in the order given. */
export function parseTasks (value: string): AnalyzeTask[] {
  const asked = [...new Set(value.split(','))]
  const unknown = asked.filter((task) => !(analyzeTasks as readonly string[]).includes(task))
  if (unknown.length > 0) throw badRequest(`unknown task ${unknown.join(', ')}; tasks are ${analyzeTasks.join(', ')}`)
  return asked as AnalyzeTask[]
}

/** Every task asked for from ONE backbone pass per image: the heads feed on it, the embedding is pooled from it. */
export async function analyze (engine: Engine, images: Buffer[], options: AnalyzeOptions, context: RequestContext): Promise<AnalyzedImage[]> {
  const { heads } = options
  // Maps come back in the order of the targets: segmentation first, then depth.
  const asked = [heads.segment, heads.depth].filter((head) => head !== undefined)
  const targets: DenseTarget[] = asked.map(headTarget)
  const results = await runDense(engine, images, options.mode, targets, context)
  return Promise.all(results.map(async (image) => {
    const answer: AnalyzedImage = { ...image.geometry.original }
    if (options.tasks.includes('embed') && image.output !== undefined) {
      const vector = poolTokens(image.output, engine.backbone.registers, options.pooling, options.normalize)
      answer.embedding = { pool: options.pooling, normalized: options.normalize, dim: vector.length, vector: Array.from(vector) }
    }
    const segmentHead = heads.segment
    const depthHead = heads.depth
    const [labelled, depth] = await Promise.all([
      segmentHead === undefined ? undefined : labelImage(engine, image, image.maps[0], (segmentHead.labels ?? []).length, 'png', undefined, context),
      depthHead === undefined ? undefined : depthImage(engine, image, image.maps[asked.length - 1], 'png16', depthHead.unit ?? 'relative', context)
    ])
    if (segmentHead !== undefined && labelled !== undefined) {
      const names = segmentHead.labels ?? []
      answer.segmentation = {
        head: segmentHead.name,
        labels: names,
        classes: summariseClasses(labelled.counts, names),
        mask_png: (labelled.png as Buffer).toString('base64')
      }
    }
    if (depthHead !== undefined && depth !== undefined) {
      answer.depth = {
        head: depthHead.name,
        unit: depthHead.unit ?? 'relative',
        min: depth.min,
        max: depth.max,
        mean: depth.mean,
        scale: depth.scale as number,
        offset: depth.offset as number,
        png16: asBuffer(depth.bytes as Uint8Array).toString('base64')
      }
    }
    return answer
  }))
}
