import type { Config } from '../config.js'
import type { EngineOptions } from '../inference/engine.js'

/** The engine the service would run for this config, for fitting outside the server (the CLI, tests, the bench). */
export function engineOptionsFromConfig (config: Readonly<Config>): EngineOptions {
  return {
    session: { providers: config.executionProviders, intraOpThreads: config.intraOpThreads, spinning: config.spinning },
    batching: { maxBatchSize: config.maxBatchSize, batchWaitMs: config.batchWaitMs, incomingWaitMs: config.incomingWaitMs },
    decode: { maxPixels: config.maxPixels },
    denseMaxSide: config.denseMaxSide,
    preprocessNice: config.preprocessNice,
    tileBatchPixels: config.tileBatchPixels,
    stripPixels: config.stripPixels,
    postprocessThreads: config.postprocessThreads,
    maxBatchTokens: config.maxBatchTokens,
    maxQueuedPixels: config.maxQueuedPixels
  }
}
