export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif'

export type SniffResult =
  | { accepted: true, format: ImageFormat }
  | { accepted: false, detected: string }

/**
 * Tells the format from the bytes, never from the client's content type or file name,
 * so that only the allow-listed decoders ever see a request body.
 */
export function sniffFormat (bytes: Uint8Array): SniffResult {
  const ascii = (start: number, end: number): string => Buffer.from(bytes.subarray(start, end)).toString('latin1')
  const starts = (...signature: number[]): boolean => signature.every((byte, i) => bytes[i] === byte)

  if (starts(0xff, 0xd8, 0xff)) return { accepted: true, format: 'jpeg' }
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { accepted: true, format: 'png' }
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { accepted: true, format: 'webp' }
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return { accepted: true, format: 'tiff' }
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return { accepted: true, format: 'gif' }
  if (ascii(4, 8) === 'ftyp') {
    const brands = ascii(8, Math.min(bytes.length, 64))
    if (/avif|avis/.test(brands)) return { accepted: true, format: 'avif' }
    return { accepted: false, detected: `ISO media (${ascii(8, 12).trim() || 'unknown brand'})` }
  }
  return { accepted: false, detected: describeRefused(bytes, ascii) }
}

function describeRefused (bytes: Uint8Array, ascii: (start: number, end: number) => string): string {
  if (bytes.length === 0) return 'an empty body'
  const head = ascii(0, Math.min(bytes.length, 512)).trimStart().toLowerCase()
  if (head.startsWith('%pdf')) return 'PDF'
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG'
  if (head.startsWith('<')) return 'XML or HTML'
  if (ascii(0, 2) === 'BM') return 'BMP'
  return 'unrecognised bytes'
}
