import { ModelFolderError } from '../model-folder-error.js'

export type HeadTask = 'segmentation' | 'depth' | 'classification'
export const headTasks: readonly HeadTask[] = ['segmentation', 'depth', 'classification']

/** The backbone a head was fitted on, as the trainer records it in head.json. */
export interface BackboneRecord {
  name: string
  model_type: string
  dim: number
  patch: number
  registers: number
  variant: string
}

/** `heads/<name>/head.json`: what the head does and how to read its output. */
export interface HeadConfig {
  task: HeadTask
  /** Segmentation: one name per output channel; classification: one name per output probability. */
  labels?: string[]
  /** Depth: the unit of the output values, e.g. "m". */
  unit?: string
  /** Heads fitted by this service record the backbone their features came from; hand-made heads may not. */
  backbone?: BackboneRecord
  /** Held-out metrics of a fitted head (miou, pixel_accuracy, abs_rel, rmse, delta1, top1). */
  metrics?: Record<string, number>
}

export function parseHeadConfig (raw: Record<string, unknown>, file: string): HeadConfig {
  const fail = (message: string): never => { throw new ModelFolderError(`${file}: ${message}`) }
  const common = { backbone: parseBackbone(raw.backbone, fail), metrics: parseMetrics(raw.metrics, fail) }
  if (raw.task === 'segmentation' || raw.task === 'classification') {
    const labels = raw.labels as unknown[]
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
      fail(`a ${raw.task} head needs "labels": a non-empty list of class names, one per output channel`)
    }
    if (raw.task === 'segmentation' && labels.length > 65536) fail(`${labels.length} labels is more than a 16-bit label map can hold`)
    return { task: raw.task, labels: labels as string[], ...common }
  }
  if (raw.task === 'depth') {
    if (raw.unit !== undefined && typeof raw.unit !== 'string') fail('"unit" must be a string such as "m"')
    return { task: 'depth', unit: (raw.unit as string | undefined) ?? 'relative', ...common }
  }
  return fail(`"task" must be one of ${headTasks.map((t) => `"${t}"`).join(', ')}, found ${JSON.stringify(raw.task)}`)
}

function parseBackbone (raw: unknown, fail: (message: string) => never): BackboneRecord | undefined {
  if (raw === undefined) return undefined
  const record = raw as Record<string, unknown>
  const shape = 'name, model_type, dim, patch, registers, variant'
  if (typeof raw !== 'object' || raw === null) return fail(`"backbone" must be an object {${shape}}`)
  for (const key of ['name', 'model_type', 'variant']) {
    if (typeof record[key] !== 'string') fail(`"backbone.${key}" must be a string (backbone: {${shape}})`)
  }
  for (const key of ['dim', 'patch', 'registers']) {
    if (!Number.isInteger(record[key])) fail(`"backbone.${key}" must be a whole number (backbone: {${shape}})`)
  }
  return {
    name: record.name as string,
    model_type: record.model_type as string,
    dim: record.dim as number,
    patch: record.patch as number,
    registers: record.registers as number,
    variant: record.variant as string
  }
}

function parseMetrics (raw: unknown, fail: (message: string) => never): Record<string, number> | undefined {
  if (raw === undefined) return undefined
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('"metrics" must be an object of numbers')
  const metrics: Record<string, number> = {}
  for (const [key, value] of Object.entries(raw)) {
    // A metric without held-out images is null; it is left out rather than refused.
    if (typeof value === 'number') metrics[key] = value
  }
  return metrics
}

/**
 * What must match for a head's features to mean what they meant when it was fitted. The variant is not among them: a
 * head fitted on fp32 features runs on fp16 ones with a small, measured loss, so that difference is only logged.
 */
export function backboneMismatch (fitted: BackboneRecord, served: BackboneRecord): string | undefined {
  const keys: Array<keyof BackboneRecord> = ['name', 'model_type', 'dim', 'patch', 'registers']
  const different = keys.filter((key) => fitted[key] !== served[key])
  if (different.length === 0) return undefined
  return `it was fitted on backbone ${describeBackbone(fitted)} but the served backbone is ${describeBackbone(served)} ` +
    `(${different.join(', ')} differ); fit it again on this backbone`
}

export const describeBackbone = (b: BackboneRecord): string =>
  `"${b.name}" (${b.model_type}, dim ${b.dim}, patch ${b.patch}, ${b.registers} registers, ${b.variant})`
