import { loadConfig } from '../../src/config.js'
import { Engine } from '../../src/inference/engine.js'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { engineOptionsFromConfig } from '../../src/inference/engine-options.js'

export const quietLog = { fatal () {}, error () {}, warn () {}, info () {}, debug () {} }

/** The serving engine on a model folder, without the HTTP app; closed when the test ends. */
export async function startEngine (t: { teardown: (fn: () => unknown) => void }, model: string, env: Record<string, string> = {}): Promise<Engine> {
  const config = loadConfig({ MODEL: model, LOG_LEVEL: 'silent', ...env })
  const engine = await Engine.start(readModelFolder(model, config.variant), engineOptionsFromConfig(config), quietLog)
  t.teardown(async () => engine.close())
  return engine
}
