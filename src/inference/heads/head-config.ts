import { ModelFolderError } from '../model-folder-error.js'

export type HeadTask = 'segmentation' | 'depth'

/** `heads/<name>/head.json`: what the head does and how to read its output. */
export interface HeadConfig {
  task: HeadTask
  /** Segmentation: one name per output channel. */
  labels?: string[]
  /** Depth: the unit of the output values, e.g. "m". */
  unit?: string
}

export function parseHeadConfig (raw: Record<string, unknown>, file: string): HeadConfig {
  const fail = (message: string): never => { throw new ModelFolderError(`${file}: ${message}`) }
  if (raw.task === 'segmentation') {
    const labels = raw.labels as unknown[]
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
      fail('a segmentation head needs "labels": a non-empty list of class names, one per output channel')
    }
    if (labels.length > 65536) fail(`${labels.length} labels is more than a 16-bit label map can hold`)
    return { task: 'segmentation', labels: labels as string[] }
  }
  if (raw.task === 'depth') {
    if (raw.unit !== undefined && typeof raw.unit !== 'string') fail('"unit" must be a string such as "m"')
    return { task: 'depth', unit: (raw.unit as string | undefined) ?? 'relative' }
  }
  return fail(`"task" must be "segmentation" or "depth", found ${JSON.stringify(raw.task)}`)
}
