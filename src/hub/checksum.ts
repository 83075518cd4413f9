import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { ExpectedChecksum } from './hub-api.js'

export interface ContentHasher {
  update(chunk: Uint8Array): void;
  digestHex(): string;
}

/**
 * Incremental hasher matching the listing's checksum kind. The git blob id hashes a
 * header with the total size first, so the expected size is needed up front; a file of
 * another size fails the size check before its checksum matters.
 */
export function createContentHasher (checksum: ExpectedChecksum, expectedSize: number): ContentHasher {
  let hash: Hash
  if (checksum.algorithm === 'sha256') {
    hash = createHash('sha256')
  } else {
    hash = createHash('sha1')
    hash.update(`blob ${expectedSize}\0`)
  }
  return {
    update: (chunk) => { hash.update(chunk) },
    digestHex: () => hash.digest('hex'),
  }
}

/** Feeds a file on disk through `hasher`, streaming, and returns how many bytes it read. */
export async function hashFileInto (hasher: ContentHasher, filePath: string): Promise<number> {
  let bytes = 0
  for await (const chunk of createReadStream(filePath) as AsyncIterable<Buffer>) {
    hasher.update(chunk)
    bytes += chunk.length
  }
  return bytes
}

export function describeChecksum (checksum: ExpectedChecksum): string {
  return checksum.algorithm === 'sha256' ? 'sha256' : 'git blob sha1'
}
