import type { Config } from '../config.js'
import type { EngineOptions } from './engine.js'

/** The engine the service runs for this config: the server, and fitting outside it (the CLI, tests, the bench). */
export function engineOptionsFromConfig (config: Readonly<Config>): EngineOptions {
  return {
    session: { providers: config.executionProviders, intraOpThreads: config.intraOpThreads, spinning: config.spinning },
    batching: { maxBatchSize: config.maxBatchSize, batchWaitMs: config.batchWaitMs, incomingWaitMs: config.incomingWaitMs, adaptiveBatchSize: config.adaptiveBatchSize },
    decode: { maxPixels: config.maxPixels, nativeJpeg: config.nativeJpeg },
    denseMaxSide: config.denseMaxSide,
    preprocessNice: config.preprocessNice,
    tileBatchPixels: config.tileBatchPixels,
    stripPixels: config.stripPixels,
    postprocessThreads: config.postprocessThreads,
    maxBatchTokens: config.maxBatchTokens,
    maxQueuedPixels: config.maxQueuedPixels,
    instances: config.inferenceInstances
  }
}
