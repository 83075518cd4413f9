import type { FastifyInstance } from 'fastify'
import tap from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

interface Teardown { teardown: (fn: () => unknown) => void }

/** The app on a model folder, loaded and warmed up, closed when the test ends. No port: tests use inject. */
export async function startApp (t: Teardown, model: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  // Readiness refusals on a lagging event loop are off unless a test asks for them: a test machine shared with other
  // work can lag past any threshold, and a 503 there would say nothing about the code under test.
  const app = await buildApp(loadConfig({ MODEL: model, LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', ...env }), { logger: false })
  t.teardown(async () => app.close())
  await app.ready()
  await app.modelHost.loaded
  return app
}

export const imageHeaders = (type = 'application/octet-stream'): Record<string, string> => ({ 'content-type': type })

const shared = new Map<string, Promise<FastifyInstance>>()

/**
 * One app per model folder and settings for the whole test file, closed when the file ends. For tests that only send
 * requests and read the answers (no metrics, run counts or other state read back): an app start costs about a second
 * of CPU, and a file of such tests would otherwise pay it in each.
 */
export async function sharedApp (model: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const key = JSON.stringify([model, env])
  let app = shared.get(key)
  if (app === undefined) {
    app = startApp(tap, model, env)
    shared.set(key, app)
  }
  return app
}
