import type { FastifyInstance } from 'fastify'
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
