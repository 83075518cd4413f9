import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { hubReachable } from './hub/hub-reachable.js'
import { DEFAULT_REPO_ID, hubSettingsFromEnv } from './hub/hub-settings.js'
import { ModelFolderError } from './inference/model-folder.js'

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
    await app.close()
  })

  await app.listen({ host: config.host, port: config.port })
  if (app.modelHost.folder.config.synthetic && config.model === undefined) void suggestPull(app.log)
  try {
    await app.modelHost.loaded
  } catch (error) {
    app.log.fatal({ err: error }, 'the model failed to load')
    await app.close()
    fail(`cannot serve the model: ${(error as Error).message}`)
  }
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
