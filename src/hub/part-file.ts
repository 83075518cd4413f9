import { open, stat, unlink, type FileHandle } from 'node:fs/promises'
import type { ExpectedChecksum } from './hub-api.js'
import { createContentHasher, hashFileInto, type ContentHasher } from './checksum.js'

/**
 * The `<file>.part` being downloaded, with a hash that always covers exactly the bytes
 * on disk: a chunk is hashed only after its write succeeded, so after a dropped
 * connection the hash and the resume offset still agree without re-reading the file.
 */
export class PartFile {
  private constructor (
    readonly path: string,
    private handle: FileHandle,
    private hasher: ContentHasher,
    private bytes: number,
    private readonly checksum: ExpectedChecksum,
    private readonly expectedSize: number
  ) {}

  /**
   * Opens (or creates) the part file. Bytes left by an earlier run are hashed once so the
   * download can carry on from them; a part longer than the file cannot be right and is dropped.
   */
  static async open (path: string, checksum: ExpectedChecksum, expectedSize: number): Promise<PartFile> {
    const existing = await stat(path).catch(() => undefined)
    if (existing && existing.size > expectedSize) await unlink(path)
    const hasher = createContentHasher(checksum, expectedSize)
    const bytes = existing && existing.size <= expectedSize ? await hashFileInto(hasher, path) : 0
    const handle = await open(path, 'a')
    return new PartFile(path, handle, hasher, bytes, checksum, expectedSize)
  }

  get size (): number {
    return this.bytes
  }

  async append (chunk: Uint8Array): Promise<void> {
    await this.handle.write(chunk)
    this.hasher.update(chunk)
    this.bytes += chunk.length
  }

  /** For servers that answer a Range request with the whole file. */
  async restart (): Promise<void> {
    await this.handle.truncate(0)
    this.hasher = createContentHasher(this.checksum, this.expectedSize)
    this.bytes = 0
  }

  /** Closes the file and returns the digest of everything written. */
  async finish (): Promise<string> {
    await this.handle.sync()
    await this.handle.close()
    return this.hasher.digestHex()
  }

  async close (): Promise<void> {
    await this.handle.close().catch(() => {})
  }
}
