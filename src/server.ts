import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { hubReachable } from './hub/hub-reachable.js'
import { DEFAULT_REPO_ID, hubSettingsFromEnv } from './hub/hub-settings.js'
import { ModelFolderError } from './inference/model-folder.js'
import { resolveProviders } from './inference/onnx-session.js'

/** The process: config, listen, signals. Everything else lives in the app. */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`)
    throw error
  }

  let app
  try {
    app = await buildApp(config)
  } catch (error) {
    if (error instanceof ModelFolderError) fail(`cannot serve the model: ${error.message}`)
    throw error
  }

  closeWithGrace({ delay: config.shutdownGraceMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing: finishing requests in flight')
    await drain(app)
    await app.close()
  })

  // A list without cpu has no fallback, so a provider that cannot load stops the start: find that out before the
  // log says the server listens. With cpu in the list the port opens at once and /health/live answers while loading.
  if (!resolveProviders(config.executionProviders).includes('cpu')) await loadedOrExit(app, app.modelHost.started)
  await app.listen({ host: config.host, port: config.port })
  if (app.modelHost.folder.config.synthetic && config.model === undefined) void suggestPull(app.log)
  await loadedOrExit(app, app.modelHost.loaded)
}

async function loadedOrExit (app: FastifyInstance, loading: Promise<unknown>): Promise<void> {
  try {
    await loading
  } catch (error) {
    app.log.fatal({ err: error }, 'the model failed to load')
    await app.close()
    fail(`cannot serve the model: ${(error as Error).message}`)
  }
}

/**
 * The first half of a graceful shutdown, before Fastify's close: refuse new work (503 shutting_down with
 * Retry-After), stop accepting connections and wait until those still open are done, each closed after its answer.
 * Fastify's close alone would answer requests arriving on open keep-alive connections with a bare 503 (no
 * Retry-After, not the service's error body), and would wait for idle keep-alive connections until their timeout,
 * far past the grace period.
 */
async function drain (app: FastifyInstance): Promise<void> {
  app.stopAdmitting()
  await new Promise<void>((resolve) => app.server.close(() => resolve()))
}

/** Says how to get a real model; never downloads one by itself. */
async function suggestPull (log: { warn: (message: string) => void }): Promise<void> {
  const { endpoint } = hubSettingsFromEnv()
  if (await hubReachable(endpoint, 2000)) {
    log.warn(`${endpoint} is reachable: get a real model with \`npm run model:pull -- ${DEFAULT_REPO_ID}\`, then restart`)
  } else {
    log.warn(`${endpoint} is not reachable from here: copy a model folder into MODELS_DIR, or set HF_ENDPOINT to a mirror and run npm run model:pull`)
  }
}

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

void main()
