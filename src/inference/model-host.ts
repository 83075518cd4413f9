import type { Log } from './log.js'
import { ServiceError } from '../errors.js'
import { Engine, type EngineOptions } from './engine.js'
import { readModelFolder, type ModelFolder } from './model-folder.js'

export type HostState = 'loading' | 'ready' | 'failed' | 'closing'

/**
 * Owns the engine's life: the folder is read at once (a broken one fails the start synchronously), the sessions
 * load and warm up in the background while /health/live already answers, and /health/ready turns true after.
 */
export class ModelHost {
  state: HostState = 'loading'
  readonly folder: ModelFolder
  /** The sessions exist, on the providers they got (not warmed up yet). */
  readonly started: Promise<Engine>
  readonly loaded: Promise<Engine>
  private engine: Engine | undefined

  constructor (dir: string, variant: string, options: EngineOptions & { warmup: boolean }, log: Log) {
    this.folder = readModelFolder(dir, variant)
    const since = performance.now()
    this.started = Engine.start(this.folder, options, log)
    this.loaded = this.load(since, options, log)
    // The server awaits these and exits on failure; the catches only keep the rejections from going unhandled.
    this.started.catch(() => {})
    this.loaded.catch(() => {})
  }

  /** The engine, or the reason a client must come back later. */
  require (): Engine {
    if (this.state === 'ready' && this.engine !== undefined && !this.engine.healthy) this.state = 'failed'
    if (this.state === 'ready' && this.engine !== undefined) return this.engine
    if (this.state === 'closing') throw new ServiceError('shutting_down', 'the service is shutting down; retry on another replica', 5)
    if (this.state === 'failed') throw new ServiceError('not_ready', 'the model failed to load or its inference thread died; see the service log', 30)
    throw new ServiceError('not_ready', 'the model is still loading; retry shortly', 2)
  }

  async close (): Promise<void> {
    this.state = 'closing'
    const engine = await this.loaded.catch(() => undefined)
    await engine?.close()
  }

  private async load (since: number, options: EngineOptions & { warmup: boolean }, log: Log): Promise<Engine> {
    try {
      const engine = await this.started
      if (options.warmup) await engine.warmUp()
      this.engine = engine
      if (this.state === 'loading') this.state = 'ready'
      log.info({ model: this.folder.name, variant: this.folder.variant, provider: engine.backbone.provider, ms: Math.round(performance.now() - since) }, 'model loaded and warmed up')
      return engine
    } catch (error) {
      this.state = 'failed'
      throw error
    }
  }
}
