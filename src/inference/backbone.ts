import type { InferenceSession } from 'onnxruntime-node'
import type { Log } from './log.js'
import type { ProviderName } from '../config.js'
import { float16ToFloat32, float32ToFloat16 } from './float16.js'
import type { Size } from './geometry.js'
import { ModelFolderError, type ModelFolder } from './model-folder.js'
import { createSession, type SessionSettings } from './onnx-session.js'
import type { OrtHost, SessionLike } from './ort-worker/ort-host.js'
import { movableBuffer } from './ort-worker/movable.js'
import type { TensorData } from './ort-worker/protocol.js'
import type { TensorPool } from './tensor-pool.js'
import { firstPatchToken } from './tokens.js'

/** Where a run's buffers come from and go back to. */
export type BufferPool = Pick<TensorPool, 'reuse' | 'give'>

/** `last_hidden_state` of a batch: [batch, tokens, channels], tokens = CLS, registers, then patches row-major. */
export interface HiddenStates {
  data: Float32Array
  batch: number
  tokens: number
  channels: number
}

/** The backbone's ONNX session behind the contract of the DINOv3 exports; it knows nothing of HTTP or batching. */
export class Backbone {
  private runs = 0

  private constructor (
    private readonly session: SessionLike,
    readonly provider: ProviderName,
    readonly folder: ModelFolder,
    /** Exports in half precision take and give float16; the service speaks float32 on both sides. */
    private readonly inputType: 'float32' | 'float16',
    /** A float32 output can be written straight into memory the caller keeps for it (`run`'s pool). */
    private readonly outputType: string,
    /** Set when the export has a static height and width (most are dynamic). */
    readonly fixedInput: Size | undefined
  ) {}

  static async load (host: OrtHost, folder: ModelFolder, settings: SessionSettings, log: Log): Promise<Backbone> {
    let loaded
    try {
      loaded = await createSession(host, folder.onnxFile, settings, log)
    } catch (error) {
      throw new ModelFolderError(`cannot load ${folder.onnxFile}: ${(error as Error).message}`)
    }
    const { session, provider } = loaded
    const input = session.inputMetadata.find((m) => m.name === 'pixel_values')
    const output = session.outputMetadata.find((m) => m.name === 'last_hidden_state')
    const fail = (problem: string): never => {
      void session.release()
      throw new ModelFolderError(`${folder.onnxFile}: ${problem}`)
    }
    if (input === undefined || !input.isTensor) fail(`no "pixel_values" input (inputs: ${session.inputNames.join(', ')})`)
    if (output === undefined || !output.isTensor) fail(`no "last_hidden_state" output (outputs: ${session.outputNames.join(', ')})`)
    const inputMeta = input as InferenceSession.TensorValueMetadata
    if (inputMeta.type !== 'float32' && inputMeta.type !== 'float16') fail(`"pixel_values" is ${inputMeta.type}, expected float32 or float16`)
    if (inputMeta.shape.length !== 4 || (typeof inputMeta.shape[1] === 'number' && inputMeta.shape[1] !== 3)) {
      fail(`"pixel_values" has shape [${inputMeta.shape.join(', ')}], expected [batch, 3, height, width]`)
    }
    const [, , h, w] = inputMeta.shape
    const fixedInput = typeof h === 'number' && typeof w === 'number' ? { height: h, width: w } : undefined
    const outputType = (output as InferenceSession.TensorValueMetadata).type
    const backbone = new Backbone(session, provider, folder, inputMeta.type as 'float32' | 'float16', outputType, fixedInput)
    await backbone.probe().catch((error: Error) => fail(error.message))
    return backbone
  }

  get patchSize (): number { return this.folder.config.patchSize }
  get hiddenSize (): number { return this.folder.config.hiddenSize }
  get registers (): number { return this.folder.config.registers }
  get runCount (): number { return this.runs }

  /**
   * pixels: [batch, 3, height, width] floats, already normalised, made for this run: their buffer moves to the
   * inference thread without a copy and is detached here. With `pool`, it goes back there once the run is over, and
   * a float32 output is written into a buffer waiting there (one its batch released): a run then makes no memory
   * for the garbage collector.
   */
  async run (pixels: Float32Array, batch: number, height: number, width: number, pool?: BufferPool): Promise<HiddenStates> {
    const half = this.inputType === 'float16'
    const data = half ? float32ToFloat16(pixels) : pixels
    const recycle = pool === undefined ? undefined : (buffer: ArrayBuffer) => pool.give(buffer)
    // A float16 model runs on a converted copy: the float32 buffer is free again at once.
    const converted = half ? movableBuffer(pixels) : undefined
    if (converted !== undefined) recycle?.(converted)
    const feeds = { pixel_values: { type: this.inputType, data, dims: [batch, 3, height, width] } }
    const reused = this.outputType === 'float32' ? this.reusedOutput(pool, batch, height, width) : undefined
    const into = reused === undefined ? undefined : { last_hidden_state: reused }
    this.runs += 1
    const result = await this.session.run(feeds, ['last_hidden_state'], { handOver: true, recycle: half ? undefined : recycle, into })
    const hidden = result.last_hidden_state
    const [b, tokens, channels] = hidden.dims
    const values = hidden.type === 'float16' ? float16ToFloat32(hidden.data as Uint16Array) : hidden.data as Float32Array
    return { data: values, batch: b, tokens, channels }
  }

  /**
   * A buffer waiting in the pool for last_hidden_state at this size, in the layout the probe proved: [batch, CLS +
   * registers + h·w, C]. None waiting, the inference thread makes the output (and off the event loop), as at first.
   */
  private reusedOutput (pool: BufferPool | undefined, batch: number, height: number, width: number): TensorData | undefined {
    const dims = [batch, this.tokensFor(height, width), this.hiddenSize]
    const data = pool?.reuse(dims[0] * dims[1] * dims[2])
    return data === undefined ? undefined : { type: 'float32', data, dims }
  }

  /** Rows of last_hidden_state for one height×width input: CLS, the registers, then the h·w patches. */
  private tokensFor (height: number, width: number): number {
    return firstPatchToken(this.registers) + (height / this.patchSize) * (width / this.patchSize)
  }

  /** One run at a non-square size proves the token layout [CLS, R registers, h·w patches] and the width C. */
  private async probe (): Promise<void> {
    const p = this.patchSize
    const size = this.fixedInput ?? { height: 2 * p, width: 3 * p }
    const grid = (size.height / p) * (size.width / p)
    const { tokens, channels } = await this.run(new Float32Array(3 * size.height * size.width), 1, size.height, size.width)
    const expected = this.tokensFor(size.height, size.width)
    const convnext = this.folder.config.family === 'convnext'
    if (channels !== this.hiddenSize) {
      const said = convnext ? `'s hidden_sizes ends with ${this.hiddenSize}` : ` says hidden_size ${this.hiddenSize}`
      throw new Error(`last_hidden_state has ${channels} channels but config.json${said}`)
    }
    if (tokens !== expected) {
      const layout = convnext
        ? `(${this.folder.config.modelType}, stride ${p}: a pooled token then the ${size.height / p}×${size.width / p} grid) implies 1 + ${grid}`
        : `(patch_size ${p}, num_register_tokens ${this.registers}) implies 1 + ${this.registers} + ${grid}`
      throw new Error(`a ${size.width}×${size.height} input gave ${tokens} tokens; config.json ${layout} = ${expected}`)
    }
  }

  async release (): Promise<void> {
    await this.session.release()
  }
}
