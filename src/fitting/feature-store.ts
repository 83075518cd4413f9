import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { totalmem, tmpdir } from 'node:os'
import { join } from 'node:path'
import { float16ToFloat32, float32ToFloat16 } from '../inference/float16.js'

/** FIT_MEMORY_MB, else 1 GiB, but never more than a quarter of the machine's memory. */
export function defaultMemoryBudgetBytes (env: NodeJS.ProcessEnv = process.env): number {
  const megabytes = Number(env.FIT_MEMORY_MB)
  if (env.FIT_MEMORY_MB !== undefined && Number.isFinite(megabytes) && megabytes >= 0) return megabytes * 2 ** 20
  return Math.min(2 ** 30, totalmem() / 4)
}

type Entry = { data: Float32Array } | { offset: number, length: number }

/**
 * Feature maps of the fit's images, kept in memory up to a budget. Past it, every map (those held so far too) moves
 * to a scratch file as float16 and is read back straight into the training batches, which then take float16: the
 * fit's memory stays at the budget plus one batch, whatever the dataset's size.
 */
export class FeatureStore {
  private readonly entries: Entry[] = []
  private held = 0
  private file: { dir: string, fd: number, size: number } | undefined

  constructor (private readonly budgetBytes: number, private readonly scratchDir = tmpdir()) {}

  get spilled (): boolean { return this.file !== undefined }
  get count (): number { return this.entries.length }
  get elementType (): 'float32' | 'float16' { return this.spilled ? 'float16' : 'float32' }

  add (data: Float32Array): number {
    if (this.file === undefined && this.held + data.byteLength > this.budgetBytes) this.spill()
    if (this.file === undefined) {
      this.entries.push({ data })
      this.held += data.byteLength
    } else {
      this.entries.push(this.write(data))
    }
    return this.entries.length - 1
  }

  /** One map as float32 (converted back from float16 when spilled). */
  read (index: number): Float32Array {
    const entry = this.entries[index]
    if ('data' in entry) return entry.data
    return float16ToFloat32(this.readHalf(entry, new Uint16Array(entry.length)))
  }

  /** Several maps of one length concatenated, in the store's element type, made for one run (its buffer may move). */
  batch (indices: number[]): Float32Array | Uint16Array {
    const lengths = indices.map((i) => { const e = this.entries[i]; return 'data' in e ? e.data.length : e.length })
    const total = lengths.reduce((a, b) => a + b, 0)
    const out = this.spilled ? new Uint16Array(total) : new Float32Array(total)
    let offset = 0
    indices.forEach((index, i) => {
      const entry = this.entries[index]
      if ('data' in entry) (out as Float32Array).set(entry.data, offset)
      else this.readHalf(entry, (out as Uint16Array).subarray(offset, offset + entry.length))
      offset += lengths[i]
    })
    return out
  }

  close (): void {
    if (this.file === undefined) return
    closeSync(this.file.fd)
    rmSync(this.file.dir, { recursive: true, force: true })
    this.file = undefined
  }

  private spill (): void {
    const dir = mkdtempSync(join(this.scratchDir, 'dinov3-fit-features-'))
    this.file = { dir, fd: openSync(join(dir, 'features.f16'), 'w+'), size: 0 }
    this.entries.forEach((entry, i) => {
      if ('data' in entry) this.entries[i] = this.write(entry.data)
    })
    this.held = 0
  }

  private write (data: Float32Array): Entry {
    const file = this.file as { fd: number, size: number }
    const half = float32ToFloat16(data)
    const offset = file.size
    writeSync(file.fd, half, 0, half.byteLength, offset)
    file.size += half.byteLength
    return { offset, length: data.length }
  }

  private readHalf (entry: { offset: number, length: number }, out: Uint16Array): Uint16Array {
    const fd = (this.file as { fd: number }).fd
    let done = 0
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
    while (done < bytes.byteLength) {
      const read = readSync(fd, bytes, done, bytes.byteLength - done, entry.offset + done)
      if (read === 0) throw new Error('the spilled feature file ended early')
      done += read
    }
    return out
  }
}
