/**
 * The inference thread: every ONNX Runtime session of the service lives here. onnxruntime-node runs a session
 * synchronously on the calling thread, so running it here keeps the HTTP event loop free during inference, and
 * gives inference threads of their own whose CPU priority the process can keep above decoding's.
 */
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import ort from 'onnxruntime-node'
import { movableBuffers } from './movable.js'
import type { Ready, Request, Response, RunWithFeeds, SessionDescription, TensorData } from './protocol.js'

const port = parentPort
if (port === null) throw new Error('worker-main.ts runs as a worker thread')

const sessions = new Map<number, ort.InferenceSession>()
let nextSessionId = 1

async function handle (request: Request): Promise<{ value: unknown, transfer: ArrayBuffer[] }> {
  if (request.kind === 'create') {
    const session = await ort.InferenceSession.create(request.file, request.options)
    const sessionId = nextSessionId++
    sessions.set(sessionId, session)
    const description: SessionDescription = {
      sessionId,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      inputMetadata: session.inputMetadata,
      outputMetadata: session.outputMetadata
    }
    return { value: description, transfer: [] }
  }
  if (request.kind === 'close') {
    for (const [sessionId, session] of sessions) {
      sessions.delete(sessionId)
      await session.release()
    }
    return { value: null, transfer: [] }
  }
  const session = sessions.get(request.sessionId)
  if (session === undefined) throw new Error(`no session ${request.sessionId}`)
  if (request.kind === 'release') {
    sessions.delete(request.sessionId)
    await session.release()
    return { value: null, transfer: [] }
  }
  // Feeds arrive moved (handed over) or copied: either way they are this thread's own, ready for onnxruntime.
  const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, data]) => [name, tensor(data)]))
  const { into } = request
  // A fetch with no buffer given is made by onnxruntime (null), as without `into`.
  const fetches = into === undefined ? request.fetches : Object.fromEntries(request.fetches.map((name) => [name, into[name] === undefined ? null : tensor(into[name])]))
  const results = await session.run(feeds, fetches)
  const outputs: Record<string, TensorData> = {}
  for (const [name, result] of Object.entries(results)) {
    // A pre-allocated output holds the answer in the buffer it came with, which goes back as it came.
    outputs[name] = into?.[name] ?? { type: result.type as TensorData['type'], data: result.data as TensorData['data'], dims: result.dims }
  }
  const transfer = movableBuffers(Object.values(outputs))
  if (request.returnFeeds !== true) return { value: outputs, transfer }
  const returned = movableBuffers(Object.values(request.feeds))
  return { value: { outputs, feeds: returned } satisfies RunWithFeeds, transfer: [...new Set([...transfer, ...returned])] }
}

const tensor = (t: TensorData): ort.Tensor => new ort.Tensor(t.type, t.data, t.dims)

port.on('message', (request: Request) => {
  handle(request).then(({ value, transfer }) => {
    const response: Response = { id: request.id, ok: true, value }
    try {
      port.postMessage(response, transfer)
    } catch {
      // A buffer onnxruntime owns cannot move; copying it is the fallback.
      port.postMessage(response)
    }
  }, (error: unknown) => {
    const response: Response = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }
    port.postMessage(response)
  }).finally(() => {
    // With every session released and nothing left to listen to, the thread ends by itself.
    if (request.kind === 'close') port.close()
  })
})

// A worker inherits its creator's priority; where allowed (root, or a nice limit), inference runs at the default.
try { setPriority(0) } catch {}

const ready: Ready = { kind: 'ready', threadId: Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0 }
port.postMessage(ready)
