import type { Specimen } from './fuzz-corpus.js'
import { mutateImage } from './fuzz-mutate.js'
import type { FuzzRandom } from './fuzz-random.js'

export interface FuzzRequest {
  path: string
  headers: Record<string, string>
  body: Buffer
  description: string
}

export interface HeadNames {
  segmentation: string[]
  depth: string[]
}

type Values = (random: FuzzRandom, heads: HeadNames) => string

const sizes: Values = (r) => r.pick(['native', '16', '17', '32', '100', '224', '1024', String(r.int(16, 1024))])
const tiles: Values = (r) => r.pick(['16', '17', '32', '48', '64', '100', '1024', String(r.int(1, 300))])
const overlaps: Values = (r) => r.pick(['0', '1', '8', '15', '16', '31', String(r.int(0, 300))])
const booleans: Values = (r) => r.pick(['true', 'false'])
const pools: Values = (r) => r.pick(['cls', 'mean', 'cls+mean'])
const taskLists: Values = (r) => {
  const tasks = ['embed', 'segment', 'depth'].filter(() => r.chance(0.6))
  return tasks.length === 0 ? r.pick(['', 'embed', 'all']) : tasks.join(',')
}

/** Every POST endpoint and its parameters, with values the service accepts (mutated values come on top). */
const endpoints: Record<string, Record<string, Values>> = {
  '/embed': { pool: pools, normalize: booleans, format: (r) => r.pick(['json', 'npy']), size: (r, h) => r.chance(0.3) ? 'processor' : sizes(r, h) },
  '/features': { format: (r) => r.pick(['npy', 'json', 'png']), size: sizes },
  '/segment': { format: (r) => r.pick(['png', 'json', 'overlay']), head: (r, h) => r.pick(h.segmentation), size: sizes, tile: tiles, overlap: overlaps },
  '/depth': { format: (r) => r.pick(['npy', 'png', 'color']), head: (r, h) => r.pick(h.depth), size: sizes, tile: tiles, overlap: overlaps },
  '/analyze': {
    tasks: taskLists,
    pool: pools,
    normalize: booleans,
    segment_head: (r, h) => r.pick(h.segmentation),
    depth_head: (r, h) => r.pick(h.depth),
    size: sizes,
    tile: tiles,
    overlap: overlaps
  }
}

export const postPaths = Object.keys(endpoints)

/** Values no parameter expects: out of range, wrong type, empty, huge, odd encodings, prototype names. */
const oddValue = (r: FuzzRandom): string => r.pick([
  '', ' ', '-1', '0', '-0', '1e3', '0x10', '1.5', 'NaN', 'Infinity', '99999999999999999999', String(r.int(-100_000, 100_000)),
  'null', 'undefined', 'true', '[]', '{}', 'cls mean', 'processor', '1025', '100000', '%00', '%zz', '%', '%E9', 'é', '☃', '\u0000', 'a'.repeat(r.int(100, 5000)),
  '__proto__', 'constructor', 'embed,embed', ',', 'embed,,depth', 'EMBED', 'Native', 'json ', 'png\n'
])

const oddName = (r: FuzzRandom): string => r.pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'x', '', 'size[]', 'tile[0]', 'format.x', '%20'])

/**
 * One request: a POST endpoint, a query of valid, odd and unknown parameters (some repeated, some left raw), and a
 * body that is a mutated image, raw or in a multipart form, under a right or wrong content type.
 */
export function fuzzRequest (random: FuzzRandom, corpus: Specimen[], heads: HeadNames): FuzzRequest {
  const path = random.pick(postPaths)
  // Most queries pass validation, so that the bytes reach the decoders and the model; the rest are wild.
  const params = random.chance(0.6) ? coherentParams(random, path, heads) : wildParams(random, path, heads)
  const query = params.map(([name, value]) => random.chance(0.9) ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}` : `${name}=${rawValue(value)}`).join('&')
  const url = query === '' ? path : `${path}?${query}`
  const body = fuzzBody(random, corpus)
  return { path: url, headers: body.headers, body: body.bytes, description: body.description }
}

/** A value left unencoded (so that `%zz`, `&` and `=` reach the query parser as they are), yet a valid request path. */
const rawValue = (value: string): string => value.replace(/[^\x21-\x7e]|#/g, (c) => encodeURIComponent(c))

/** Valid values that also agree with each other: overlap only with a smaller tile, no size or embed with tile. */
function coherentParams (random: FuzzRandom, path: string, heads: HeadNames): Array<[string, string]> {
  const chosen = new Map<string, string>()
  for (const [name, values] of Object.entries(endpoints[path])) {
    if (random.chance(0.45)) chosen.set(name, values(random, heads))
  }
  if (chosen.has('overlap') && !chosen.has('tile')) chosen.delete('overlap')
  const tile = chosen.get('tile')
  if (tile !== undefined) {
    chosen.delete('size')
    if (chosen.has('overlap')) chosen.set('overlap', String(Math.min(Number(chosen.get('overlap')), Number(tile) - 1)))
    if (path === '/analyze') chosen.set('tasks', random.pick(['segment', 'depth', 'segment,depth']))
  }
  if (path === '/embed' && chosen.get('size') !== undefined && !/^(processor|native|\d+)$/.test(chosen.get('size') ?? '')) chosen.delete('size')
  return [...chosen]
}

/** Any values, odd ones among them, parameters repeated and unknown ones added. */
function wildParams (random: FuzzRandom, path: string, heads: HeadNames): Array<[string, string]> {
  const params: Array<[string, string]> = []
  for (const [name, values] of Object.entries(endpoints[path])) {
    if (!random.chance(0.45)) continue
    params.push([name, random.chance(0.6) ? values(random, heads) : oddValue(random)])
    if (random.chance(0.1)) params.push([name, values(random, heads)])
  }
  if (random.chance(0.2)) params.push([oddName(random), oddValue(random)])
  return params
}

function fuzzBody (random: FuzzRandom, corpus: Specimen[]): { bytes: Buffer, headers: Record<string, string>, description: string } {
  const roll = random.uniform()
  if (roll < 0.75) {
    const image = mutateImage(random, corpus)
    const type = random.pick(['application/octet-stream', 'image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'image/x-anything'])
    return { bytes: image.bytes, headers: { 'content-type': type }, description: `${type}: ${image.description}` }
  }
  if (roll < 0.9) {
    const images = Array.from({ length: random.int(1, 3) }, () => mutateImage(random, corpus))
    const form = multipart(images.map((i) => i.bytes), random)
    return { bytes: form.body, headers: { 'content-type': form.type }, description: `multipart: ${images.map((i) => i.description).join(' | ')}${form.damage}` }
  }
  const image = mutateImage(random, corpus)
  const type = random.pick(['text/plain', 'application/json', '', 'image/', 'multipart/form-data', 'multipart/form-data; boundary=', 'application/x-www-form-urlencoded'])
  return { bytes: image.bytes, headers: { 'content-type': type }, description: `content-type "${type}": ${image.description}` }
}

function multipart (files: Buffer[], random: FuzzRandom): { body: Buffer, type: string, damage: string } {
  const boundary = `fuzz${random.int(0, 1e9)}`
  const parts = files.flatMap((file, i) => [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="f${i}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from('\r\n')
  ])
  if (random.chance(0.2)) parts.unshift(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n${'x'.repeat(random.int(0, 100))}\r\n`))
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  let body = Buffer.concat(parts)
  let damage = ''
  if (random.chance(0.15)) {
    const cut = random.int(0, body.length - 1)
    body = body.subarray(0, cut)
    damage = ` (form cut at ${cut})`
  }
  return { body, type: `multipart/form-data; boundary=${boundary}`, damage }
}
