import { crc32 } from 'node:zlib'
import type { Specimen } from './fuzz-corpus.js'
import type { FuzzRandom } from './fuzz-random.js'

export interface MutatedImage {
  bytes: Buffer
  /** What was done, for the failure report: "jpeg 64×48 → truncate 812 → flip 3". */
  description: string
}

const magic: Record<Specimen['format'], Buffer> = {
  png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  webp: Buffer.from('RIFF\x00\x10\x00\x00WEBPVP8 ', 'latin1'),
  gif: Buffer.from('GIF89a', 'latin1'),
  tiff: Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]),
  avif: Buffer.from('\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1', 'latin1')
}

/** Sizes and counts that sit on the edges decoders get wrong. */
const edgeValues = [0, 1, 2, 255, 256, 4096, 65535, 65536, 100_000, 0x7fffffff, 0xffffffff]

type Mutation = (bytes: Buffer, random: FuzzRandom, specimen: Specimen, corpus: Specimen[]) => [Buffer, string]

const mutations: Array<[weight: number, Mutation]> = [
  [3, (b, r) => {
    const out = Buffer.from(b)
    const flips = r.int(1, 16)
    for (let i = 0; i < flips; i++) out[r.int(0, out.length - 1)] ^= r.int(1, 255)
    return [out, `flip ${flips}`]
  }],
  [2, (b, r) => {
    const out = Buffer.from(b)
    const flips = r.int(1, 4)
    for (let i = 0; i < flips; i++) out[r.int(0, Math.min(out.length, 96) - 1)] ^= r.int(1, 255)
    return [out, `flip ${flips} in the header`]
  }],
  [3, (b, r) => {
    const length = r.chance(0.3) ? r.int(0, Math.min(24, b.length - 1)) : r.int(1, b.length - 1)
    return [b.subarray(0, length), `truncate to ${length}`]
  }],
  [3, (b, r, s) => alterHeader(b, r, s.format)],
  [2, (b, r) => {
    const start = r.int(0, b.length - 1)
    const slice = b.subarray(start, start + r.int(1, 256))
    const at = r.int(0, b.length)
    return [Buffer.concat([b.subarray(0, at), slice, b.subarray(at)]), `duplicate ${slice.length} bytes from ${start} at ${at}`]
  }],
  [1, (b, r, s) => duplicatePngChunk(b, r, s)],
  [1, (b, r) => {
    const start = r.int(0, b.length - 1)
    const length = r.int(1, Math.max(1, Math.floor(b.length / 4)))
    return [Buffer.concat([b.subarray(0, start), b.subarray(start + length)]), `drop ${length} bytes at ${start}`]
  }],
  [1, (b, r) => {
    const out = Buffer.from(b)
    const start = r.int(0, b.length - 1)
    const length = Math.min(r.int(1, 512), out.length - start)
    out.fill(r.pick([0x00, 0xff]), start, start + length)
    return [out, `fill ${length} bytes at ${start}`]
  }],
  [2, (_b, r) => {
    const format = r.pick(Object.keys(magic) as Array<Specimen['format']>)
    const length = r.int(0, 2048)
    return [Buffer.concat([magic[format], r.bytes(length)]), `${format} magic + ${length} random bytes`]
  }],
  [1, (b, r, _s, corpus) => {
    const other = r.pick(corpus)
    const cut = r.int(1, b.length - 1)
    const from = r.int(0, other.bytes.length - 1)
    return [Buffer.concat([b.subarray(0, cut), other.bytes.subarray(from)]), `first ${cut} bytes + ${other.name} from ${from}`]
  }],
  [1, (b) => [Buffer.concat([b, b]), 'twice over']]
]

const totalWeight = mutations.reduce((sum, [weight]) => sum + weight, 0)

/** A valid image (one time in five), or one put through one to three mutations. */
export function mutateImage (random: FuzzRandom, corpus: Specimen[]): MutatedImage {
  const specimen = random.pick(corpus)
  if (random.chance(0.2)) return { bytes: specimen.bytes, description: `${specimen.name}, valid` }
  let bytes = specimen.bytes
  const steps: string[] = [specimen.name]
  const count = random.pick([1, 1, 1, 2, 3])
  for (let i = 0; i < count && bytes.length > 1; i++) {
    let pick = random.uniform() * totalWeight
    const [, mutation] = mutations.find(([weight]) => (pick -= weight) < 0) ?? mutations[0]
    const [mutated, description] = mutation(bytes, random, specimen, corpus)
    bytes = mutated
    steps.push(description)
  }
  return { bytes, description: steps.join(' → ') }
}

/** Rewrites a size, depth or count field where each format keeps it (CRC fixed for PNG, so that it is believed). */
function alterHeader (bytes: Buffer, random: FuzzRandom, format: Specimen['format']): [Buffer, string] {
  const out = Buffer.from(bytes)
  const value = random.chance(0.7) ? random.pick(edgeValues) : random.int(0, 70_000)
  const field = (name: string, offset: number, size: 1 | 2 | 3 | 4, littleEndian: boolean): [Buffer, string] => {
    if (offset < 0 || offset + size > out.length) return [out, `${name}: no such field`]
    const v = value % 2 ** (8 * size)
    if (size === 1) out.writeUInt8(v, offset)
    else if (size === 3) out.writeUIntLE(v, offset, 3)
    else if (littleEndian) (size === 2 ? out.writeUInt16LE(v, offset) : out.writeUInt32LE(v, offset))
    else (size === 2 ? out.writeUInt16BE(v, offset) : out.writeUInt32BE(v, offset))
    return [out, `${name} := ${v}`]
  }
  switch (format) {
    case 'png': {
      const [name, offset, size] = random.pick([['IHDR width', 16, 4], ['IHDR height', 20, 4], ['IHDR bit depth', 24, 1], ['IHDR colour type', 25, 1], ['IHDR interlace', 28, 1]] as const)
      const result = field(name, offset, size, false)
      if (out.length >= 33) out.writeUInt32BE(crc32(out.subarray(12, 29)), 29)
      return result
    }
    case 'jpeg': {
      const sof = findJpegFrame(out)
      const [name, delta, size] = random.pick([['SOF height', 5, 2], ['SOF width', 7, 2], ['SOF precision', 4, 1], ['SOF components', 9, 1]] as const)
      return sof < 0 ? [out, 'no SOF marker'] : field(name, sof + delta, size, false)
    }
    case 'gif': {
      const descriptor = out.indexOf(0x2c, 13)
      const [name, offset] = random.pick([['screen width', 6], ['screen height', 8], ['frame width', descriptor + 5], ['frame height', descriptor + 7]] as const)
      return field(name, offset, 2, true)
    }
    case 'webp': {
      const chunk = out.toString('latin1', 12, 16)
      if (chunk === 'VP8X') return field(random.pick(['canvas width', 'canvas height']), random.chance(0.5) ? 24 : 27, 3, true)
      if (chunk === 'VP8 ') return field(random.pick(['frame width', 'frame height']), random.chance(0.5) ? 26 : 28, 2, true)
      return field('VP8L size bits', 21, 4, true)
    }
    case 'tiff': {
      const ifd = out.length >= 8 ? out.readUInt32LE(4) : 0
      const entries = ifd + 2 <= out.length ? out.readUInt16LE(ifd) : 0
      const entry = ifd + 2 + 12 * random.int(0, Math.max(0, entries - 1))
      const tag = entry + 2 <= out.length ? out.readUInt16LE(entry) : -1
      return field(`IFD tag ${tag} value`, entry + 8, random.pick([2, 4] as const), true)
    }
    case 'avif': {
      const ispe = out.indexOf('ispe', 0, 'latin1')
      return ispe < 0 ? [out, 'no ispe box'] : field(random.pick(['ispe width', 'ispe height']), ispe + (random.chance(0.5) ? 8 : 12), 4, false)
    }
  }
}

function findJpegFrame (bytes: Buffer): number {
  for (let i = 2; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] >= 0xc0 && bytes[i + 1] <= 0xc2) return i
  }
  return -1
}

/** A whole PNG chunk (IHDR, PLTE, IDAT, IEND…) repeated right after itself. */
function duplicatePngChunk (bytes: Buffer, random: FuzzRandom, specimen: Specimen): [Buffer, string] {
  if (specimen.format !== 'png' || bytes.length < 8) return [Buffer.concat([bytes, bytes.subarray(0, 64)]), 'first 64 bytes appended']
  const chunks: Array<{ start: number, end: number, type: string }> = []
  for (let at = 8; at + 12 <= bytes.length;) {
    const end = at + 12 + bytes.readUInt32BE(at)
    if (end > bytes.length) break
    chunks.push({ start: at, end, type: bytes.toString('latin1', at + 4, at + 8) })
    at = end
  }
  if (chunks.length === 0) return [bytes, 'no chunk']
  const chunk = random.pick(chunks)
  return [Buffer.concat([bytes.subarray(0, chunk.end), bytes.subarray(chunk.start, chunk.end), bytes.subarray(chunk.end)]), `${chunk.type} chunk twice`]
}
