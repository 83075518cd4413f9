import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

interface Teardown { teardown: (fn: () => unknown) => void }

/** The app on a model folder, loaded and warmed up, closed when the test ends. No port: tests use inject. */
export async function startApp (t: Teardown, model: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ MODEL: model, LOG_LEVEL: 'silent', ...env }), { logger: false })
  t.teardown(async () => app.close())
  await app.ready()
  await app.modelHost.loaded
  return app
}

export const imageHeaders = (type = 'application/octet-stream'): Record<string, string> => ({ 'content-type': type })
