import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Log } from './log.js'
import type { OrtHost, SessionLike } from './ort-worker/ort-host.js'
import type { SessionOptions } from './ort-worker/protocol.js'
import type { ProviderName } from '../config.js'

export interface SessionSettings {
  providers: ProviderName[] | 'auto'
  intraOpThreads: number
  spinning: boolean
}

export interface LoadedSession {
  session: SessionLike
  provider: ProviderName
}

/** The CUDA provider is a separate download (the GPU image installs it); `auto` only tries it where it is present. */
export function cudaProviderInstalled (): boolean {
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'))
  return existsSync(join(ortDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'))
}

/** The providers to try in order. Only `auto`, or a list that names `cpu`, may end on the CPU. */
export function resolveProviders (providers: SessionSettings['providers']): ProviderName[] {
  if (providers !== 'auto') return providers
  return cudaProviderInstalled() ? ['cuda', 'cpu'] : ['cpu']
}

/** What every session of the service is created with; scripts/gpu-check runs the providers with the same. */
export function sessionOptions (provider: ProviderName, settings: Omit<SessionSettings, 'providers'>): SessionOptions {
  return {
    // Each provider has ONNX Runtime's CPU kernels behind it for the operators it lacks (shape arithmetic, mostly).
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // ONNX Runtime's default, kept: each run's intermediate tensors laid out once per input shape, in one block.
    // Off, the backbone alone ran batches of four 224² images 0.978× as fast; on, the service's peak RSS was about
    // 30 MiB higher at each size it had seen, and a tiled 4096² request's peak did not move (BENCHMARKS.md, sixth
    // and seventh rounds).
    enableMemPattern: true,
    extra: { session: { intra_op: { allow_spinning: settings.spinning ? '1' : '0' } } }
  }
}

/**
 * Tries each provider in order (each with ONNX Runtime's CPU kernels behind it for the operators it lacks) and keeps
 * the first that loads, warning about each that did not: with `cuda,cpu` a GPU host with a broken CUDA install still
 * serves, on CPU, loudly; with `cuda` alone it refuses to start.
 */
export async function createSession (host: OrtHost, file: string, settings: SessionSettings, log: Log): Promise<LoadedSession> {
  const providers = resolveProviders(settings.providers)
  let lastError: unknown
  for (const provider of providers) {
    try {
      const session = await host.createSession(file, sessionOptions(provider, settings))
      return { session, provider }
    } catch (error) {
      lastError = error
      if (provider === 'cpu') break
      log.warn({ provider, file, err: (error as Error).message }, `execution provider ${provider} could not load` +
        (provider === providers[providers.length - 1] ? '' : '; trying the next one'))
    }
  }
  if (providers.includes('cpu')) throw lastError
  throw noFallbackError(providers, lastError)
}

/** A list without cpu is a promise not to serve on CPU: say so, and how to allow it, rather than only ORT's words. */
function noFallbackError (providers: ProviderName[], cause: unknown): Error {
  const list = providers.join(',')
  return new Error(`no execution provider in EXECUTION_PROVIDERS=${list} could load (${providers[providers.length - 1]}: ` +
    `${(cause as Error)?.message ?? String(cause)}); the list names no cpu, so the service will not fall back to it. ` +
    `Set EXECUTION_PROVIDERS=${list},cpu to serve on CPU when ${providers.length === 1 ? `${list} cannot` : 'none of them can'} load`, { cause })
}
