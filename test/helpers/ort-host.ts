import { OrtHost } from '../../src/inference/ort-worker/ort-host.js'

/** An inference thread for tests that load sessions without the app; stopped when the test ends. */
export async function startOrtHost (t: { teardown: (fn: () => unknown) => void }): Promise<OrtHost> {
  const host = await OrtHost.start()
  t.teardown(async () => host.close())
  return host
}
