import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'
import { syntheticModel } from '../../helpers/models.js'
import { LoopbackClient } from './loopback-client.js'

/** Every scenario runs the tiny synthetic model with heads: the service's own overheads dominate, not the model. */
export const stressModel = (): string => syntheticModel({ preset: 'tiny', heads: true })

/** The app listening on a loopback port, its model loaded and warmed up; a keep-alive client pointed at it. */
export interface ListeningService {
  app: FastifyInstance
  port: number
  client: LoopbackClient
  close: () => Promise<void>
}

/**
 * PREPROCESS_NICE=0: the scenarios run their clients in the service's process, on cores shared with whatever else
 * runs (tap runs test files side by side). At nice 19 the decoding and post-processing threads would be starved by
 * those neighbours, and the ratios measured would describe the neighbours rather than the service.
 */
export const stressEnv = (): Record<string, string> => ({ MODEL: stressModel(), LOG_LEVEL: 'silent', PREPROCESS_NICE: '0' })

export async function startListening (env: Record<string, string> = {}): Promise<ListeningService> {
  const app = await buildApp(loadConfig({ ...stressEnv(), ...env }), { logger: false })
  await app.ready()
  await app.modelHost.loaded
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const client = new LoopbackClient(port)
  return {
    app,
    port,
    client,
    close: async () => {
      client.close()
      await app.close()
    }
  }
}

/** A gauge or counter from /metrics (summed over its labels when `labels` is left out). */
export async function metric (app: FastifyInstance, name: string, labels = ''): Promise<number> {
  return metricValue((await app.inject({ method: 'GET', url: '/metrics' })).body, name, labels)
}

/** The same, read from the text of a /metrics answer. */
export function metricValue (text: string, name: string, labels = ''): number {
  const pattern = new RegExp(`^${name}${labels === '' ? '(\\{[^}]*\\})?' : `\\{${labels.replace(/[{}]/g, '')}\\}`} (\\S+)$`, 'gm')
  let total = 0
  for (const match of text.matchAll(pattern)) total += Number(match[match.length - 1])
  return total
}

/** The backbone runs so far: work dropped for a departed client must not move it. */
export const backboneRuns = (app: FastifyInstance): number => app.modelHost.require().backboneRuns
