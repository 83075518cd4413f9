import sharp, { type Sharp } from 'sharp'
import { multipartBody, patternRgb, rawInput } from '../../helpers/images.js'
import { countStatuses, type Answer } from './loopback-client.js'
import { check, mib, round, type Report } from './report.js'
import { spawnServer, type ServerProcess } from './server-process.js'

export interface SoakOptions {
  /** Requests after warm-up. */
  requests: number
  /** Requests at once. */
  concurrency: number
  /** Bursts of every kind of request during warm-up… */
  warmupBursts: number
  /** …then this many requests of the mix, as in the soak itself. */
  warmupRequests: number
  /** RSS at the end over RSS on the plateau after warm-up. */
  maxGrowth: number
}

export const shortSoak: SoakOptions = { requests: 300, concurrency: 4, warmupBursts: 2, warmupRequests: 150, maxGrowth: 1.08 }
export const longSoak: SoakOptions = { requests: 6000, concurrency: 4, warmupBursts: 3, warmupRequests: 600, maxGrowth: 1.05 }

export interface Kind {
  name: string
  path: string
  body: Buffer
  contentType: string
}

/** Every endpoint, every output format, every input format, one and several images, tiled and not. */
export async function requestKinds (): Promise<Kind[]> {
  const picture = (width: number, height: number, seed: number): Sharp => sharp(patternRgb(width, height, seed), rawInput(width, height))
  const inputs = {
    png: await picture(96, 64, 1).png().toBuffer(),
    jpeg: await picture(120, 90, 2).jpeg().toBuffer(),
    webp: await picture(64, 96, 3).webp().toBuffer(),
    gif: await picture(48, 48, 4).gif().toBuffer(),
    tiff: await picture(80, 60, 5).tiff().toBuffer(),
    avif: await picture(64, 64, 6).avif().toBuffer(),
    large: await picture(700, 500, 7).jpeg().toBuffer()
  }
  const form = multipartBody([{ data: inputs.png }, { data: inputs.jpeg }, { data: inputs.webp }])
  const raw = (name: string, path: string, body: Buffer): Kind => ({ name, path, body, contentType: 'application/octet-stream' })
  return [
    raw('embed png', '/embed', inputs.png),
    raw('embed jpeg npy', '/embed?format=npy&pool=cls%2Bmean&normalize=true', inputs.jpeg),
    raw('embed webp native', '/embed?size=native&pool=mean', inputs.webp),
    { name: 'embed multipart ×3', path: '/embed?format=npy', body: form.body, contentType: form.contentType },
    raw('features gif', '/features', inputs.gif),
    raw('features tiff json', '/features?format=json', inputs.tiff),
    raw('features avif png', '/features?format=png', inputs.avif),
    raw('segment png', '/segment', inputs.png),
    raw('segment jpeg json', '/segment?format=json', inputs.jpeg),
    raw('segment webp overlay', '/segment?format=overlay', inputs.webp),
    raw('segment large tiled', '/segment?tile=256&overlap=64', inputs.large),
    raw('depth npy', '/depth', inputs.tiff),
    raw('depth png', '/depth?format=png', inputs.gif),
    raw('depth color large', '/depth?format=color&size=384', inputs.large),
    raw('analyze all', '/analyze', inputs.jpeg),
    raw('analyze tiled', '/analyze?tasks=segment,depth&tile=128', inputs.large),
    { name: 'analyze multipart ×3', path: '/analyze?tasks=embed,segment', body: form.body, contentType: form.contentType },
    raw('refused: not an image', '/embed', Buffer.from('%PDF-1.4 not an image')),
    raw('refused: truncated', '/features', inputs.jpeg.subarray(0, 300))
  ]
}

/**
 * Thousands of requests mixing endpoints and formats against the real server process, its resident memory sampled
 * all along: after warm-up it stays on a plateau (a leak of even a few kB per request would climb).
 */
export async function runSoak (options: SoakOptions): Promise<Report> {
  const kinds = await requestKinds()
  const server = await spawnServer({ MAX_CONCURRENT_REQUESTS: String(options.concurrency * 2) })
  try {
    const send = async (kind: Kind): Promise<Answer> => server.client.post(kind.path, kind.body, { headers: { 'content-type': kind.contentType }, timeoutMs: 60_000 })
    /** `count` requests cycling through the kinds, `concurrency` at a time. */
    const mix = async (count: number, answered: (kind: Kind, answer: Answer) => void): Promise<void> => {
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < count && server.child.exitCode === null) {
          const kind = kinds[next++ % kinds.length]
          answered(kind, await send(kind))
        }
      }
      await Promise.all(Array.from({ length: options.concurrency }, worker))
    }
    // ONNX Runtime's arena grows to the largest batch it has run, and which batches form depends on timing: bursts
    // of each kind of request bring on the largest batches during warm-up, so that the plateau already includes them.
    const warmupStarted = performance.now()
    for (let burst = 0; burst < options.warmupBursts; burst++) {
      for (const kind of kinds) await Promise.all(Array.from({ length: options.concurrency }, async () => send(kind)))
    }
    await mix(options.warmupRequests, () => {})
    const warmupSeconds = (performance.now() - warmupStarted) / 1000
    const warmRss = rssOrZero(server)

    const samples: number[] = []
    const answers: Array<{ kind: Kind, answer: Answer }> = []
    const started = performance.now()
    await mix(options.requests, (kind, answer) => {
      answers.push({ kind, answer })
      if (answers.length % 10 === 0) samples.push(rssOrZero(server))
    })
    const seconds = (performance.now() - started) / 1000
    samples.push(rssOrZero(server))

    // Medians of the first and the last third: one sample caught during a large allocation cannot decide it.
    const third = Math.max(1, Math.floor(samples.length / 3))
    const plateau = median(samples.slice(0, third))
    const end = median(samples.slice(-third))
    const growth = end / plateau
    const unexpected = answers.filter(({ kind, answer }) => kind.name.startsWith('refused') ? !(answer.status >= 400 && answer.status < 500) : answer.status !== 200)
    return {
      scenario: 'soak',
      numbers: {
        'warm-up requests': options.warmupBursts * kinds.length * options.concurrency + options.warmupRequests,
        'warm-up seconds': round(warmupSeconds, 1),
        'rss MiB after warm-up': mib(warmRss),
        requests: answers.length,
        seconds: round(seconds, 1),
        'req/s': round(answers.length / seconds, 1),
        'request kinds': kinds.length,
        statuses: countStatuses(answers.map((a) => a.answer)),
        'rss MiB plateau (first third)': mib(plateau),
        'rss MiB at the end (last third)': mib(end),
        'rss MiB peak': mib(Math.max(...samples)),
        'end/plateau': round(growth, 3)
      },
      checks: [
        check('every request is answered as expected', unexpected.length === 0,
          unexpected.length === 0 ? countStatuses(answers.map((a) => a.answer)) : unexpected.slice(0, 5).map(({ kind, answer }) => `${kind.name}: ${answer.status} ${answer.error ?? answer.body.toString('utf8').slice(0, 200)}`).join('; ')),
        check('RSS stays on its plateau after warm-up', growth <= options.maxGrowth,
          `${mib(plateau)} MiB after warm-up → ${mib(end)} MiB at the end: ×${round(growth, 3)} (limit ×${options.maxGrowth})`),
        check('the server is alive at the end', server.child.exitCode === null, `exit code ${String(server.child.exitCode)}`)
      ]
    }
  } finally {
    await server.kill()
  }
}

function rssOrZero (server: ServerProcess): number {
  try {
    return server.rss()
  } catch {
    return 0
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}
