/** A post-processing thread: runs the jobs of jobs.ts on plain data and sends the results back by transfer. */
import { parentPort, workerData } from 'node:worker_threads'
import { lowerThisThread } from '../thread-priority.js'
import { jobs, type JobName } from './jobs.js'
import { transferables } from './movable.js'
import type { JobRequest, JobResponse } from './protocol.js'

const port = parentPort
if (port === null) throw new Error('post-pool/worker-main.ts runs as a worker thread')
// Below inference, as decoding is: the event loop that created this thread keeps its own priority.
lowerThisThread((workerData as { nice?: number } | null)?.nice ?? 0)

// Loaded: the pool counts this thread as started (its modules are compiled, under tsx, only now).
port.postMessage({ ready: true })

port.on('message', (request: JobRequest) => {
  let response: JobResponse
  try {
    const run = jobs[request.name as JobName] as (input: unknown) => unknown
    response = { id: request.id, ok: true, value: run(request.input) }
  } catch (error) {
    response = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }
  }
  port.postMessage(response, response.ok ? transferables(response.value) : [])
})
