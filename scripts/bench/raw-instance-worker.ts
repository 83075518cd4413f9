/** One raw instance of RawInstances: a RawSession on this thread, running what the parent asks. */
import { parentPort, workerData } from 'node:worker_threads'
import type { Ask } from './raw-instances.js'
import { RawSession } from './raw-session.js'

const port = parentPort
if (port === null) throw new Error('raw-instance-worker.ts runs as a worker thread')
const raw = await RawSession.open(workerData.modelDir, { size: workerData.size, threads: workerData.threads, spinning: workerData.spinning })
port.on('message', (request: Ask) => {
  if (request.kind === 'release') {
    void raw.release().then(() => port.postMessage(null))
    return
  }
  void raw.run(request.batch, request.seconds).then((run) => port.postMessage(run))
})
port.postMessage('ready')
