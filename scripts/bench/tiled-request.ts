import { execFile } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { readModelFolder } from '../../src/inference/model-folder.js'
import { planWindows } from '../../src/inference/dense/window-plan.js'

const execFileAsync = promisify(execFile)

export interface TiledAnswer {
  ms: number
  status: number
  bytes: number
  /** The service's own x-*-time headers, in ms. */
  timings: Record<string, number>
}

/**
 * One POST, timed from the first byte sent to the last byte received. node:http rather than fetch: undici's fetch
 * gives up on answers that take over 300 s, and an 8192² tiled request takes longer on 2 cores.
 */
export async function postImage (url: string, body: Buffer): Promise<TiledAnswer> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'content-length': body.length }
    }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => { bytes += chunk.length })
      res.on('end', () => {
        const timings: Record<string, number> = {}
        for (const [name, value] of Object.entries(res.headers)) {
          if (/^x-[a-z]+-time$/.test(name)) timings[name] = Number(value)
        }
        resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes, timings })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The same, refusing anything but a 200: a timed error would pass for a fast answer. */
export async function postImageOk (url: string, body: Buffer): Promise<TiledAnswer> {
  const answer = await postImage(url, body)
  if (answer.status !== 200) throw new Error(`POST ${url} answered ${answer.status}`)
  return answer
}

/** How many windows the service runs for a square image of `side` pixels: its own planWindows, not a copy. */
export function windowCount (model: string, side: number, tiling: { tile: number, overlap: number }, maxTile = 1024): number {
  const patch = readModelFolder(model, 'fp32').config.patchSize
  return planWindows({ width: side, height: side }, tiling, patch, maxTile).origins.length
}

/** Tiled requests run for minutes on 2 cores: their deadline must not be what ends them. */
export const tiledServiceEnv = { TILED_REQUEST_TIMEOUT_MS: '3600000' }

/** RSS before and peak of a bare ONNX Runtime process running one `side`² window once (raw-window-peak.ts), MiB. */
export async function rawWindowMemory (model: string, side: number, threads: number): Promise<RawWindowMemory> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'raw-window-peak.ts'), model, String(side), String(threads)])
  return JSON.parse(stdout) as RawWindowMemory
}

export interface RawWindowMemory {
  beforeMiB: number
  peakMiB: number
}
