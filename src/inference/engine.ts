import { join } from 'node:path'
import { decodeRgb, decodeToTensor, readHeader, type DecodeOptions, type ImageHeader, type ResizePlan, type RgbImage, type RgbPixels } from '../image/decode.js'
import { STRIP_PIXELS } from './dense/decode-strips.js'
import { Backbone } from './backbone.js'
import { Batcher, type BatcherObserver, type BatcherOptions, type PixelInput, type TokenOutput } from './batcher.js'
import { denseGeometry, embedGeometry, type DenseSize, type InputGeometry, type Point, type Size } from './geometry.js'
import { HeadRegistry } from './heads/head-registry.js'
import type { BackboneRecord } from './heads/head-config.js'
import type { Head } from './heads/head.js'
import { fittedHeadsDir, loadHeadFolder, loadHeads, type BackboneShape } from './heads/load-heads.js'
import type { Log } from './log.js'
import type { ModelFolder } from './model-folder.js'
import { OrtHost } from './ort-worker/ort-host.js'
import { PostPool } from './post-pool/pool.js'
import { lowerOtherThreads, startThreadPool } from './thread-priority.js'
import { flatTables, normalisationTable, toPixelTensor } from './normalize.js'
import { inferenceSpan } from './inference-span.js'
import { PixelBudget } from './pixel-budget.js'
import { TensorPool } from './tensor-pool.js'
import type { SessionSettings } from './onnx-session.js'
import type { RequestContext } from './stages.js'

export interface EngineOptions {
  session: SessionSettings
  batching: BatcherOptions
  decode: DecodeOptions
  /** Longest side dense requests run at without tiling. */
  denseMaxSide: number
  /** Nice value for every thread but inference's (0 keeps them equal). */
  preprocessNice: number
  /** Pixels per backbone batch of tiles: bounds the attention memory of tiled requests. */
  tileBatchPixels: number
  /** Threads of the post-processing pool (resampling, argmax, pictures, encoding). */
  postprocessThreads: number
  /** Decoded pixels per strip of a tiled request (STRIP_PIXELS, see dense/decode-strips.ts). */
  stripPixels?: number
  /** Patch tokens per backbone batch (MAX_BATCH_TOKENS). */
  maxBatchTokens: number
  /** Model-input pixels of decoded images admitted requests may hold at once (beyond: 429). */
  maxQueuedPixels: number
  observer?: BatcherObserver
  /** HEADS_DIR: where fitted heads are written and loaded from besides the model's heads/ (default: that folder). */
  headsDir?: string
  /** INFERENCE_INSTANCES: backbone sessions on inference threads of their own, batches running side by side (default 1). */
  instances?: number
}

/** One image through the backbone: its tokens, and how its pixels map onto the model's input. */
export interface Encoded {
  output: TokenOutput
  geometry: InputGeometry
  header: ImageHeader
  /** The patch grid, h × w = padded height / patch × padded width / patch. */
  grid: { height: number, width: number }
  /** The normalised input, for end-to-end heads that take pixels. */
  pixels: Float32Array
}

/** An image decoded and normalised, ready for the backbone. */
export interface Prepared {
  input: PixelInput
  geometry: InputGeometry
  header: ImageHeader
}

export function backboneIdentity (folder: ModelFolder): BackboneRecord {
  const { config } = folder
  return { name: folder.name, model_type: config.modelType, dim: config.hiddenSize, patch: config.patchSize, registers: config.registers, variant: folder.variant }
}

const headBackbone = (backbone: Backbone, folder: ModelFolder): BackboneShape =>
  ({ hiddenSize: backbone.hiddenSize, patchSize: backbone.patchSize, identity: backboneIdentity(folder) })
/** Model-input pixels above which an image is normalised off the event loop (512², a few ms of work). */
const LARGE_IMAGE_PIXELS = 512 * 512
/** Model-input buffers kept for use again: 80 tensors of a 224² image, or 2.7 batches of 8 at 512². */
const TENSOR_POOL_BYTES = 48 * 1024 * 1024

/**
 * The backbone, its batcher and the preprocessing that feeds it: the core the HTTP layer calls, with no HTTP in it.
 */
export class Engine {
  private readonly table: Float32Array[]
  /** The same three tables end to end, as the native JPEG decoder reads them. */
  private readonly flatTable: Float32Array
  /** For an image the native decoder has had its try at: libvips, without asking the native decoder again. */
  private readonly libvipsDecode: DecodeOptions
  /** Decoded images held by requests: the memory budget. */
  readonly pixels: PixelBudget

  private constructor (
    readonly folder: ModelFolder,
    /** One inference thread per instance, each with its backbone session; the first also holds the heads'. */
    readonly hosts: readonly OrtHost[],
    readonly backbones: readonly Backbone[],
    readonly batcher: Batcher,
    readonly heads: HeadRegistry,
    /** Where answers are resampled and encoded: never on the event loop. */
    readonly post: PostPool,
    /** Small images' tensors, used again (see tensor-pool.ts). */
    private readonly tensors: TensorPool,
    private readonly options: EngineOptions
  ) {
    this.table = normalisationTable(folder.processor)
    this.flatTable = flatTables(this.table)
    this.libvipsDecode = { ...options.decode, nativeJpeg: false }
    this.pixels = new PixelBudget(options.maxQueuedPixels, options.observer?.pixelsHeld)
  }

  static async start (folder: ModelFolder, options: EngineOptions, log: Log): Promise<Engine> {
    const hosts: OrtHost[] = []
    let post: PostPool | undefined
    try {
      for (let i = 0; i < (options.instances ?? 1); i++) hosts.push(await OrtHost.start())
      // Inference and the event loop keep their priority; decoding (libuv's pool, started first so that its threads
      // are there to lower) and post-processing yield to both.
      await startThreadPool()
      lowerOtherThreads([...hosts.map((host) => host.threadId), process.pid], options.preprocessNice)
      post = new PostPool(options.postprocessThreads, options.preprocessNice)
      const backbones: Backbone[] = []
      for (const host of hosts) {
        // Every instance on the provider the first one got: a second that fell back to the CPU would serve beside a
        // GPU one unnoticed, so it fails the start instead.
        const session = backbones.length === 0 ? options.session : { ...options.session, providers: [backbones[0].provider] }
        backbones.push(await Backbone.load(host, folder, session, log))
      }
      const [backbone] = backbones
      const heads = new HeadRegistry(await loadHeads(hosts[0], { modelDir: folder.dir, headsDir: options.headsDir }, headBackbone(backbone, folder), options.session, log))
      await post.started
      const tensors = new TensorPool(TENSOR_POOL_BYTES)
      const batching = { ...options.batching, maxBatchPixels: options.maxBatchTokens * backbone.patchSize ** 2, tensors }
      const batcher = new Batcher(backbones, batching, options.observer)
      return new Engine(folder, hosts, backbones, batcher, heads, post, tensors, options)
    } catch (error) {
      await post?.close()
      for (const host of hosts) await host.close()
      throw error
    }
  }

  /** The first instance: the heads' inference thread, and the backbone that describes the model. */
  get host (): OrtHost { return this.hosts[0] }
  get backbone (): Backbone { return this.backbones[0] }
  /** False once any inference thread has died. */
  get healthy (): boolean { return this.hosts.every((host) => host.healthy) }
  /** Backbone runs so far, every instance's. */
  get backboneRuns (): number { return this.backbones.reduce((runs, backbone) => runs + backbone.runCount, 0) }

  get patchSize (): number { return this.backbone.patchSize }
  get denseMaxSide (): number { return this.options.denseMaxSide }
  get tileBatchPixels (): number { return this.options.tileBatchPixels }
  get stripPixels (): number { return this.options.stripPixels ?? STRIP_PIXELS }
  get decodeOptions (): DecodeOptions { return this.options.decode }
  /** Where fitted heads are written: HEADS_DIR, or the model folder's heads/. */
  get headsDir (): string { return fittedHeadsDir({ modelDir: this.folder.dir, headsDir: this.options.headsDir }) }
  /** What a fitted head records of the backbone its features came from. */
  get identity (): BackboneRecord { return backboneIdentity(this.folder) }

  /** Loads one fitted head folder of HEADS_DIR with the start-up's checks (not yet served: the registry adds it). */
  async loadFittedHead (name: string, log: Log): Promise<Head> {
    return loadHeadFolder(this.host, join(this.headsDir, name), name, headBackbone(this.backbone, this.folder), this.options.session, log, true)
  }

  /** Reads the header first, so that oversized or refused images cost no decoding. */
  header (bytes: Buffer, context: RequestContext): Promise<ImageHeader> {
    const nodataFill = this.folder.processor.mean.map((m) => Math.round(255 * m))
    return context.times.time('decode', () => readHeader(bytes, { ...this.options.decode, raster: context.raster, nodataFill }))
  }

  /** For global embeddings: the processor's own resize, as the model was trained and evaluated. */
  async prepareForEmbedding (bytes: Buffer, context: RequestContext): Promise<Prepared> {
    const header = await this.header(bytes, context)
    const { plan, geometry } = embedGeometry(header, this.folder.processor, this.patchSize)
    return this.prepare(bytes, header, plan, geometry, context)
  }

  /** For dense work: aspect kept, native size up to the cap (or the long side asked for), padded to the patch grid. */
  async prepareDense (bytes: Buffer, size: DenseSize, context: RequestContext): Promise<Prepared> {
    const header = await this.header(bytes, context)
    const { plan, geometry } = denseGeometry(header, size, this.options.denseMaxSide, this.patchSize, this.folder.processor.kernel, this.backbone.fixedInput)
    return this.prepare(bytes, header, plan, geometry, context)
  }

  /** The image at its own size, for pictures drawn over it (overlays). */
  decodeOriginal (bytes: Buffer, header: ImageHeader, context: RequestContext): Promise<RgbImage> {
    return context.times.time('decode', () => decodeRgb(bytes, header, { kind: 'none' }, this.options.decode))
  }

  /**
   * Decodes and normalises a request's images, then runs them through the batcher together (so that they can share
   * a batch). While they are being decoded the batcher knows they are coming and may hold a batch for them.
   */
  async encodeImages (images: Buffer[], prepare: (bytes: Buffer) => Promise<Prepared>, context: RequestContext): Promise<Encoded[]> {
    this.batcher.expect(images.length)
    let prepared: Prepared[]
    try {
      prepared = await Promise.all(images.map(prepare))
    } catch (error) {
      this.batcher.expect(-images.length)
      throw error
    }
    return this.encodeAll(prepared, context, images.length)
  }

  /** Runs prepared images through the batcher together, so that one request's images can share a batch. */
  async encodeAll (prepared: Prepared[], context: RequestContext, announced = 0): Promise<Encoded[]> {
    const outputs = await this.encodePixels(prepared.map((p) => p.input), context, announced)
    const p = this.patchSize
    return prepared.map(({ geometry, header, input }, i) => ({
      output: outputs[i],
      pixels: input.pixels,
      geometry,
      header,
      grid: { height: geometry.padded.height / p, width: geometry.padded.width / p }
    }))
  }

  /** Runs already-normalised pixels through the batcher (tiling feeds windows this way). */
  async encodePixels (inputs: PixelInput[], context: RequestContext, announced = 0): Promise<TokenOutput[]> {
    const outputs = await Promise.all(this.batcher.submitAll(inputs, context.signal, announced))
    context.times.add('queue', Math.max(...outputs.map((o) => o.queueMs)))
    context.times.add('inference', inferenceSpan(outputs))
    return outputs
  }

  /**
   * A decoded image, or windows of it (a tensor per origin), normalised on the post-processing pool. The tables
   * travel as copies (3 KB), since whatever spans its buffer in a job moves.
   */
  normalise (image: RgbPixels, padded: Size, origins?: Point[]): Promise<Float32Array[]> {
    return this.post.run('normalise', { image, table: this.table.map((lut) => lut.slice()), padded, origins })
  }

  /** A dummy run so that the first real request does not pay for lazy allocations. */
  async warmUp (): Promise<void> {
    const resize = this.folder.processor.resize
    const side = this.backbone.fixedInput ?? (resize.kind === 'exact' ? resize : { height: 224, width: 224 })
    const height = Math.ceil(side.height / this.patchSize) * this.patchSize
    const width = Math.ceil(side.width / this.patchSize) * this.patchSize
    for (const backbone of this.backbones) await backbone.run(new Float32Array(3 * height * width), 1, height, width)
  }

  async close (): Promise<void> {
    await this.batcher.idle()
    await this.post.close()
    for (const host of this.hosts) await host.close()
  }

  private async prepare (bytes: Buffer, header: ImageHeader, plan: ResizePlan, geometry: InputGeometry, context: RequestContext): Promise<Prepared> {
    const { padded } = geometry
    this.pixels.take(padded.width * padded.height, context)
    const input = (pixels: Float32Array): Prepared => ({ input: { pixels, height: padded.height, width: padded.width }, geometry, header })
    // A dense image's normalisation (millions of samples) runs on the post-processing pool; a small one costs
    // less than the trip there, and a plain JPEG's is written by the native decoder, off the event loop.
    const large = padded.width * padded.height > LARGE_IMAGE_PIXELS
    const tensor = large ? undefined : this.tensors.take(3 * padded.width * padded.height)
    if (tensor !== undefined) {
      const written = await context.times.time('decode', () => decodeToTensor(bytes, header, plan, this.options.decode, { out: tensor, table: this.flatTable, padded }))
      if (written !== undefined) return input(written)
    }
    const rgb = await context.times.time('decode', () => decodeRgb(bytes, header, plan, tensor === undefined ? this.options.decode : this.libvipsDecode))
    return input(await context.times.time('preprocess', async () => tensor === undefined
      ? (await this.normalise(rgb, padded))[0]
      : toPixelTensor(rgb, this.table, padded, tensor)))
  }
}
