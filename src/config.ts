import { resolve } from 'node:path'
import { STRIP_PIXELS } from './inference/dense/decode-strips.js'
import { usableCores } from './usable-cores.js'

export type ProviderName = 'cuda' | 'webgpu' | 'cpu'

export interface Config {
  /** A model folder or a name under modelsDir; undefined: the first model there, else a synthetic one. */
  model: string | undefined
  modelsDir: string
  /** Which `onnx/model_<variant>.onnx` to load; `fp32` is `onnx/model.onnx`. */
  variant: string
  host: string
  port: number
  logLevel: string
  /**
   * Tried in order; `auto` means CUDA where its provider library is installed, else CPU. A list without `cpu`
   * refuses to start rather than fall back (a GPU replica that silently serves on CPU is worse than one that fails).
   */
  executionProviders: ProviderName[] | 'auto'
  /**
   * Backbone sessions, each on an inference thread of its own, running batches side by side (Triton's instance
   * groups). On a small CPU host two one-thread instances serve more than one two-thread instance; a lone request
   * takes longer, and the weights are held once per instance.
   */
  inferenceInstances: number
  /** ONNX Runtime threads per session; by default the usable cores shared among the instances. */
  intraOpThreads: number
  /** Spinning workers answer faster but burn the cores that decoding also needs. */
  spinning: boolean
  /** Nice value of every thread but inference's: decoding yields the cores to inference (0: all equal). */
  preprocessNice: number
  maxBatchSize: number
  /** Patch tokens per backbone batch: large images run a few at a time, small ones up to maxBatchSize. */
  maxBatchTokens: number
  /** Batches take as many images as has run fastest per image (up to maxBatchSize); false: always up to maxBatchSize. */
  adaptiveBatchSize: boolean
  /** How long an idle model waits for companions before running a partial batch. */
  batchWaitMs: number
  /**
   * How long it waits for images of admitted requests that are still being decoded (only when there are some).
   * The trade-off, measured both ways, is in the README (Architecture).
   */
  incomingWaitMs: number
  /** Requests admitted at once (decoding, queued or running); beyond it: 429 with Retry-After. */
  maxConcurrentRequests: number
  maxFilesPerRequest: number
  requestTimeoutMs: number
  /** Time a client has to send its whole request; a body trickled slower is cut off (408) before it holds a permit. */
  uploadTimeoutMs: number
  tiledRequestTimeoutMs: number
  bodyLimitBytes: number
  maxPixels: number
  /** Plain JPEGs decoded by build/native/jpeg-rgb.node where it is built; false: libvips decodes every image. */
  nativeJpeg: boolean
  /** Longest side the model runs at for dense work; larger images are scaled down or tiled. */
  denseMaxSide: number
  /** Pixels per backbone batch of tiles, which bounds the attention memory of a tiled request. */
  tileBatchPixels: number
  /** Decoded pixels per strip of a tiled request: memory of a huge image, against decoding it again per strip. */
  stripPixels: number
  /** Threads that resample and encode answers (argmax, colour maps, PCA, PNG), off the event loop. */
  postprocessThreads: number
  /** Model-input pixels of decoded images that admitted requests may hold at once; beyond it 429 (one image always runs). */
  maxQueuedPixels: number
  /** Beyond this event-loop delay readiness turns false and new work gets 503 (0: never). */
  maxEventLoopDelayMs: number
  warmup: boolean
  shutdownGraceMs: number
  /** Bearer token of the fitting routes (/heads); unset: fitting is disabled and those routes answer 404. */
  adminToken: string | undefined
  /** Where fitted heads are written and loaded from besides the model folder's heads/; unset: that folder itself. */
  headsDir: string | undefined
  /** Fitting jobs waiting behind the running one; beyond: 429 with Retry-After. */
  fitQueueSize: number
  /** Files in one fitting upload (images and their masks or depth maps count each). */
  fitMaxFiles: number
  /** Bytes of all the files of one fitting upload together (BODY_LIMIT_MB still bounds each file). */
  fitUploadLimitBytes: number
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

/** Environment → validated, frozen config; a bad value stops the start with a message naming the variable. */
export function loadConfig (env: Env = process.env): Readonly<Config> {
  const read = new EnvReader(env)
  const inferenceInstances = read.integer('INFERENCE_INSTANCES', 1, 1, 16)
  const config: Config = {
    model: read.optionalString('MODEL'),
    modelsDir: resolve(read.string('MODELS_DIR', './models')),
    variant: read.string('MODEL_VARIANT', 'fp32'),
    host: read.string('HOST', '0.0.0.0'),
    port: read.integer('PORT', 8080, 0, 65535),
    logLevel: read.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    executionProviders: read.providers('EXECUTION_PROVIDERS'),
    inferenceInstances,
    intraOpThreads: read.integer('INTRA_OP_THREADS', Math.max(1, Math.floor(usableCores() / inferenceInstances)), 1, 1024),
    spinning: read.boolean('ORT_SPINNING', false),
    preprocessNice: read.integer('PREPROCESS_NICE', 19, 0, 19),
    maxBatchSize: read.integer('MAX_BATCH_SIZE', 8, 1, 256),
    maxBatchTokens: read.integer('MAX_BATCH_TOKENS', 8192, 1, 2 ** 24),
    adaptiveBatchSize: read.boolean('ADAPTIVE_BATCH_SIZE', true),
    batchWaitMs: read.number('BATCH_WAIT_MS', 0, 0, 1000),
    incomingWaitMs: read.number('BATCH_WAIT_FOR_DECODING_MS', 20, 0, 1000),
    maxConcurrentRequests: read.integer('MAX_CONCURRENT_REQUESTS', 64, 1, 100_000),
    maxFilesPerRequest: read.integer('MAX_FILES_PER_REQUEST', 32, 1, 1024),
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_MS', 30_000, 1, 3_600_000),
    uploadTimeoutMs: read.integer('UPLOAD_TIMEOUT_MS', 60_000, 1, 3_600_000),
    tiledRequestTimeoutMs: read.integer('TILED_REQUEST_TIMEOUT_MS', 900_000, 1, 86_400_000),
    bodyLimitBytes: read.integer('BODY_LIMIT_MB', 100, 1, 10_000) * 1024 * 1024,
    maxPixels: read.integer('MAX_PIXELS', 150_000_000, 1, 2 ** 31),
    nativeJpeg: read.boolean('NATIVE_JPEG', true),
    denseMaxSide: read.integer('DENSE_MAX_SIDE', 1024, 16, 16_384),
    tileBatchPixels: read.integer('TILE_BATCH_PIXELS', 1024 * 1024, 1, 2 ** 30),
    stripPixels: read.integer('STRIP_PIXELS', STRIP_PIXELS, 1, 2 ** 31),
    postprocessThreads: read.integer('POSTPROCESS_THREADS', defaultPostprocessThreads(), 1, 64),
    maxQueuedPixels: read.integer('MAX_QUEUED_PIXELS', 16 * 1024 * 1024, 1, 2 ** 40),
    maxEventLoopDelayMs: read.integer('MAX_EVENT_LOOP_DELAY_MS', 1000, 0, 600_000),
    warmup: read.boolean('WARMUP', true),
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    adminToken: read.secret('ADMIN_TOKEN', 16),
    headsDir: mapDefined(read.optionalString('HEADS_DIR'), (dir) => resolve(dir)),
    fitQueueSize: read.integer('FIT_QUEUE_SIZE', 4, 0, 1000),
    fitMaxFiles: read.integer('FIT_MAX_FILES', 2000, 2, 100_000),
    fitUploadLimitBytes: read.integer('FIT_UPLOAD_LIMIT_MB', 2048, 1, 1_000_000) * 1024 * 1024
  }
  return Object.freeze(config)
}

const mapDefined = <T, U>(value: T | undefined, map: (value: T) => U): U | undefined => value === undefined ? undefined : map(value)
/** Half the usable cores, from 1 to 4: post-processing shares the cores with inference and decoding. */
function defaultPostprocessThreads (): number {
  return Math.max(1, Math.min(4, Math.floor(usableCores() / 2)))
}

class EnvReader {
  constructor (private readonly env: Env) {}

  optionalString (name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  string (name: string, fallback: string): string {
    return this.optionalString(name) ?? fallback
  }

  /** A token that guards something: refused when short enough to guess, and never echoed in the message. */
  secret (name: string, minLength: number): string | undefined {
    const value = this.optionalString(name)
    if (value !== undefined && value.length < minLength) {
      throw new ConfigError(`${name} is ${value.length} characters; use at least ${minLength} (e.g. openssl rand -hex 32), or unset it to disable what it guards`)
    }
    return value
  }

  number (name: string, fallback: number, min: number, max: number): number {
    const raw = this.optionalString(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new ConfigError(`${name}=${raw} is not a number between ${min} and ${max}`)
    }
    return value
  }

  integer (name: string, fallback: number, min: number, max: number): number {
    const value = this.number(name, fallback, min, max)
    if (!Number.isInteger(value)) throw new ConfigError(`${name}=${this.env[name]} is not a whole number`)
    return value
  }

  boolean (name: string, fallback: boolean): boolean {
    const raw = this.optionalString(name)?.toLowerCase()
    if (raw === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true
    if (['0', 'false', 'no', 'off'].includes(raw)) return false
    throw new ConfigError(`${name}=${raw} is not a boolean (use true or false)`)
  }

  oneOf<T extends string> (name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.optionalString(name)
    if (raw === undefined) return fallback
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(`${name}=${raw} is not one of ${allowed.join(', ')}`)
    }
    return raw as T
  }

  providers (name: string): ProviderName[] | 'auto' {
    const raw = this.optionalString(name)?.toLowerCase()
    if (raw === undefined || raw === 'auto') return 'auto'
    const known: ProviderName[] = ['cuda', 'webgpu', 'cpu']
    const list = raw.split(',').map((p) => p.trim()).filter((p) => p !== '')
    const unknown = list.filter((p) => !(known as string[]).includes(p))
    if (list.length === 0 || unknown.length > 0) {
      throw new ConfigError(`${name}=${raw}: use auto or a comma-separated list of ${known.join(', ')}`)
    }
    return list as ProviderName[]
  }
}
