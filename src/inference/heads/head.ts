import { ServiceError } from '../../errors.js'
import type { SessionLike } from '../ort-worker/ort-host.js'
import type { TensorData } from '../ort-worker/protocol.js'
import type { HeadConfig, HeadTask } from './head-config.js'

export type HeadInput = 'patch_features' | 'cls_token' | 'pixel_values'
export const headInputs: readonly HeadInput[] = ['patch_features', 'cls_token', 'pixel_values']

/**
 * What a head is given for one batch; it takes the parts its ONNX inputs name, and their buffers move to the inference
 * thread (detached here), so each part must be made for the run.
 */
export interface HeadFeeds {
  /** [B, C, h, w] */
  patchFeatures?: Float32Array
  /** [B, C] */
  clsToken?: Float32Array
  /** [B, 3, H, W], normalised as for the backbone */
  pixels?: Float32Array
  batch: number
  channels: number
  gridHeight: number
  gridWidth: number
  height: number
  width: number
}

/** A head's output as planes: [batch, planes, height, width] (depth: one plane). */
export interface HeadOutput {
  data: Float32Array
  batch: number
  planes: number
  height: number
  width: number
  /** Rank of the graph's output: 4 [B,K,h,w], 3 [B,h,w] or 2 [B,K]. */
  rank: number
}

/** Where a head was found: the model folder's heads/, or HEADS_DIR (which may be the same folder). */
export interface HeadSource {
  /** The head's own folder. */
  dir: string
  /** Loaded from HEADS_DIR: only such heads, and only fitted ones, may be deleted over HTTP. */
  inHeadsDir: boolean
}

/** One pluggable head: its ONNX session and what head.json says about it. */
export class Head {
  private running = 0
  private retired = false
  private drained: (() => void) | undefined

  constructor (
    readonly name: string,
    readonly config: HeadConfig,
    readonly inputs: HeadInput[],
    private readonly session: SessionLike,
    private readonly outputName: string,
    readonly source: HeadSource = { dir: '', inHeadsDir: false }
  ) {}

  /** Written by this service's trainer (it records the backbone) into HEADS_DIR: what DELETE /heads/{name} may remove. */
  get fitted (): boolean { return this.source.inHeadsDir && this.config.backbone !== undefined }

  get task (): HeadTask { return this.config.task }
  get labels (): string[] | undefined { return this.config.labels }
  get unit (): string | undefined { return this.config.unit }
  get endToEnd (): boolean { return this.inputs.includes('pixel_values') }

  async run (feeds: HeadFeeds): Promise<HeadOutput> {
    // A request may have picked the head just before it was deleted; it gets a clear 404 instead of a dead session.
    if (this.retired) throw new ServiceError('not_found', `head "${this.name}" was deleted while this request ran`)
    this.running += 1
    try {
      return await this.runSession(feeds)
    } finally {
      this.running -= 1
      if (this.running === 0) this.drained?.()
    }
  }

  /** Deleted at run time: refuses new runs, and releases the session once the runs under way are over. */
  async retire (): Promise<void> {
    this.retired = true
    if (this.running > 0) await new Promise<void>((resolve) => { this.drained = resolve })
    await this.release()
  }

  private async runSession (feeds: HeadFeeds): Promise<HeadOutput> {
    const tensors: Record<string, TensorData> = {}
    for (const input of this.inputs) {
      if (input === 'patch_features') tensors[input] = { type: 'float32', data: required(feeds.patchFeatures, input), dims: [feeds.batch, feeds.channels, feeds.gridHeight, feeds.gridWidth] }
      if (input === 'cls_token') tensors[input] = { type: 'float32', data: required(feeds.clsToken, input), dims: [feeds.batch, feeds.channels] }
      if (input === 'pixel_values') tensors[input] = { type: 'float32', data: required(feeds.pixels, input), dims: [feeds.batch, 3, feeds.height, feeds.width] }
    }
    const output = (await this.session.run(tensors, [this.outputName], { handOver: true }))[this.outputName]
    const dims = output.dims
    if (output.type !== 'float32') throw new Error(`head ${this.name} gave ${output.type}, expected float32`)
    // Depth heads may drop the channel axis: [B, h, w] is one plane; classification's [B, K] is K planes of one pixel.
    const [batch, planes, height, width] = dims.length === 3 ? [dims[0], 1, dims[1], dims[2]] : dims.length === 2 ? [dims[0], dims[1], 1, 1] : dims
    return { data: output.data as Float32Array, batch, planes, height, width, rank: dims.length }
  }

  async release (): Promise<void> {
    await this.session.release()
  }
}

function required (value: Float32Array | undefined, input: string): Float32Array {
  if (value === undefined) throw new Error(`no data for head input ${input}`)
  return value
}
