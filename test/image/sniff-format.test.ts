import sharp, { type Sharp } from 'sharp'
import t from 'tap'
import { sniffFormat } from '../../src/image/sniff-format.js'

const pixels = (): Sharp =>
  sharp(Buffer.from(Array.from({ length: 8 * 6 * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: 8, height: 6, channels: 3 } })

/** An ISO base media `ftyp` box: size, 'ftyp', major brand, minor version, compatible brands. */
function ftyp (major: string, ...compatible: string[]): Buffer {
  const body = Buffer.concat([Buffer.from('ftyp' + major, 'latin1'), Buffer.alloc(4), Buffer.from(compatible.join(''), 'latin1')])
  const size = Buffer.alloc(4)
  size.writeUInt32BE(body.length + 4)
  return Buffer.concat([size, body, Buffer.alloc(32)])
}

t.test('each accepted format, from real bytes written by sharp', async (t) => {
  const encoded = {
    jpeg: await pixels().jpeg().toBuffer(),
    png: await pixels().png().toBuffer(),
    webp: await pixels().webp().toBuffer(),
    tiff: await pixels().tiff().toBuffer(),
    gif: await pixels().gif().toBuffer(),
    avif: await pixels().avif().toBuffer()
  }
  for (const [format, bytes] of Object.entries(encoded)) {
    t.same(sniffFormat(bytes), { accepted: true, format }, format)
    t.same(sniffFormat(new Uint8Array(bytes)), { accepted: true, format }, `${format} as a plain Uint8Array`)
  }
  t.same(sniffFormat(await pixels().webp({ lossless: true }).toBuffer()), { accepted: true, format: 'webp' }, 'lossless webp')
})

t.test('signatures not written by this sharp build', async (t) => {
  t.same(sniffFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8])), { accepted: true, format: 'tiff' }, 'big-endian TIFF')
  t.same(sniffFormat(Buffer.from('GIF87a\x08\x00\x06\x00', 'latin1')), { accepted: true, format: 'gif' }, 'GIF87a')
  t.same(sniffFormat(ftyp('mif1', 'mif1', 'avif', 'miaf')), { accepted: true, format: 'avif' }, 'avif as a compatible brand')
  t.same(sniffFormat(ftyp('avis', 'avis', 'msf1')), { accepted: true, format: 'avif' }, 'an AVIF sequence')
})

t.test('refusals are described by what the bytes are', async (t) => {
  const refused = (bytes: Uint8Array | string, detected: string, name: string): void => {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes
    t.same(sniffFormat(data), { accepted: false, detected }, name)
  }
  refused(new Uint8Array(0), 'an empty body', 'empty')
  refused('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="6"/>', 'SVG', 'SVG')
  refused('\n  <svg xmlns="http://www.w3.org/2000/svg"/>', 'SVG', 'SVG after white space')
  refused('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"/>', 'SVG', 'SVG with an XML prologue')
  refused('<?xml version="1.0"?><note>not a picture</note>', 'XML or HTML', 'other XML')
  refused('<!DOCTYPE html><html><body>hello</body></html>', 'XML or HTML', 'HTML')
  refused('<HTML><BODY>', 'XML or HTML', 'upper-case HTML')
  refused('%PDF-1.7\n%âãÏÓ\n1 0 obj', 'PDF', 'PDF')
  refused(Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(52)]), 'BMP', 'BMP')
  refused(ftyp('heic', 'mif1', 'heic'), 'ISO media (heic)', 'HEIC')
  refused(ftyp('mif1', 'mif1', 'heic'), 'ISO media (mif1)', 'HEIF without avif')
  refused(ftyp('isom', 'isom', 'mp41'), 'ISO media (isom)', 'MP4')
  refused(Buffer.from('\x00\x00\x00\x0cftyp', 'latin1'), 'ISO media (unknown brand)', 'a truncated ftyp box')
  refused(Buffer.from([0xff, 0xd8]), 'unrecognised bytes', 'two bytes of a JPEG signature')
  refused(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'unrecognised bytes', 'half a PNG signature')
  refused(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1'), 'unrecognised bytes', 'a RIFF that is not WebP')
  refused(Buffer.from('GIF88a', 'latin1'), 'unrecognised bytes', 'a made-up GIF version')

  // Random bytes that happen to start with none of the signatures.
  let seed = 7
  const random = Uint8Array.from({ length: 256 }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed >>> 24
  })
  random[0] = 0x01
  refused(random, 'unrecognised bytes', 'random bytes')
})
