/**
 * The service's core task for /embed (engine, batcher, decoding, inference thread: the same code, the same settings
 * from the environment) behind the leanest HTTP there is: node:http, no framework, no hooks, no metrics, no
 * validation. With the service beside it, `lean-ladder.ts` tells what the HTTP layers cost; its in-process load
 * (an IPC message, no HTTP at all) tells what the core alone reaches. Not a server to deploy: it answers
 * POST /embed (a raw image body, CLS embeddings as JSON) and GET /health/ready, and nothing else.
 *
 * Run by lean-ladder.ts as `node --import tsx scripts/bench/lean-server.ts` with MODEL, HOST and PORT set.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { readFileSync } from 'node:fs'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { engineOptionsFromConfig } from '../../src/inference/engine-options.js'
import { Engine } from '../../src/inference/engine.js'
import { findModelFolder } from '../../src/inference/find-model.js'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { StageTimes } from '../../src/inference/stages.js'
import { embed } from '../../src/inference/tasks/embed.js'

/** What lean-ladder.ts asks over IPC: `clients` closed-loop callers of the core task, for `seconds`. */
export interface CoreLoad { clients: number, seconds: number, bodyFile: string }

const config = loadConfig()
const dir = findModelFolder(config.model, config.modelsDir)
if (dir === undefined) throw new Error('set MODEL to a model folder')
const engine = await Engine.start(readModelFolder(dir, config.variant), engineOptionsFromConfig(config), pino({ level: 'warn' }))
await engine.warmUp()

/** One image through the core task, as the /embed route calls it, minus HTTP: its CLS embedding. */
async function embedOne (image: Buffer): Promise<Float32Array> {
  const context = { times: new StageTimes(), heldPixels: 0 }
  try {
    const answer = await embed(engine, [image], { pooling: 'cls', normalize: false, size: { kind: 'processor' }, format: 'json' }, context)
    return answer.embeddings[0]
  } finally {
    engine.pixels.release(context)
  }
}

async function body (request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/health/ready') {
    response.end('ready')
    return
  }
  if (request.method !== 'POST' || request.url !== '/embed') {
    response.writeHead(404).end()
    return
  }
  body(request).then(embedOne).then(
    (embedding) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ embeddings: [Array.from(embedding)] })),
    (error: Error) => response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: error.message })))
})
server.listen(config.port, config.host)

process.on('message', (load: CoreLoad) => {
  const image = readFileSync(load.bodyFile)
  const until = performance.now() + load.seconds * 1000
  let images = 0
  const client = async (): Promise<void> => {
    while (performance.now() < until) {
      await embedOne(image)
      images += 1
    }
  }
  const started = performance.now()
  Promise.all(Array.from({ length: load.clients }, client)).then(
    () => process.send?.({ images, seconds: (performance.now() - started) / 1000 }),
    (error: Error) => process.send?.({ error: error.message }))
})

process.on('SIGTERM', () => {
  server.close()
  void engine.close().then(() => process.exit(0))
})
