import type { GraphBuilder } from '../synthetic/onnx-builder.js'
import type { FitKind, FitMetrics } from './types.js'

/** What a task's fit hands back: the head to write, its held-out metrics and its own head.json fields. */
export interface TaskResult {
  head: GraphBuilder
  metrics: FitMetrics
  fields: { labels?: string[], unit?: 'm', kind?: FitKind, bins?: { count: number, min_depth: number, max_depth: number } }
  epochs: number
}
