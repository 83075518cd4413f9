import sharp, { type Sharp } from 'sharp'
import t from 'tap'
import { readHeader } from '../../src/image/decode.js'
import { jpegInfo, seenSize } from '../../src/image/jpeg-header.js'
import { afterSoi, bigEndianExif, segment } from '../helpers/jpeg-segments.js'

/** The size as the client sees it, read from the markers: what readHeader answers for a JPEG. */
function jpegSize (bytes: Buffer): { width: number, height: number } | undefined {
  const info = jpegInfo(bytes)
  return info === undefined ? undefined : seenSize(info)
}

const picture = (width: number, height: number): Sharp =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 90, b: 30 } } })

/** What libvips reports, the reference: its size after EXIF orientation. */
async function libvipsSize (bytes: Buffer): Promise<{ width: number, height: number }> {
  const metadata = await sharp(bytes).metadata()
  const { width, height } = metadata.autoOrient ?? metadata
  return { width: width as number, height: height as number }
}

t.test('equals libvips for every orientation, baseline and progressive, colour, grey and CMYK', async (t) => {
  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    for (const progressive of [false, true]) {
      const jpeg = await picture(37, 21).jpeg({ progressive }).withMetadata({ orientation }).toBuffer()
      t.same(jpegSize(jpeg), await libvipsSize(jpeg), `orientation ${orientation}, progressive ${String(progressive)}`)
    }
  }
  const grey = await picture(640, 480).greyscale().jpeg().toBuffer()
  t.same(jpegSize(grey), await libvipsSize(grey), 'grey')
  const cmyk = await picture(300, 17).toColourspace('cmyk').jpeg().toBuffer()
  t.same(jpegSize(cmyk), await libvipsSize(cmyk), 'CMYK')
  const large = await picture(4000, 3000).jpeg().withMetadata({ orientation: 6 }).toBuffer()
  t.same(jpegSize(large), { width: 3000, height: 4000 }, '4000×3000 turned a quarter')
})

t.test('finds the EXIF block behind an XMP segment and reads big-endian EXIF', async (t) => {
  const jpeg = await picture(50, 20).jpeg().toBuffer()
  const xmp = segment(0xe1, Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>', 'latin1'))
  const exif = segment(0xe1, bigEndianExif(8))
  const both = afterSoi(jpeg, xmp, exif)
  t.same(jpegSize(both), { width: 20, height: 50 })
  t.same(jpegSize(both), await libvipsSize(both), 'as libvips reads it')
})

t.test('gives undefined, so that libvips decides, for what it does not read plainly', async (t) => {
  const jpeg = await picture(50, 20).jpeg().toBuffer()
  t.equal(jpegSize(afterSoi(jpeg, segment(0xe1, bigEndianExif(9)))), undefined, 'orientation 9')
  t.equal(jpegSize(afterSoi(jpeg, segment(0xe1, bigEndianExif(0)))), undefined, 'orientation 0')
  const frame = jpeg.indexOf(Buffer.from([0xff, 0xc0]))
  const dnl = Buffer.from(jpeg)
  dnl.writeUInt16BE(0, frame + 5)
  t.equal(jpegSize(dnl), undefined, 'height left to a DNL marker')
  t.equal(jpegSize(jpeg.subarray(0, frame + 6)), undefined, 'cut inside the frame header')
  t.equal(jpegSize(Buffer.concat([jpeg.subarray(0, 2), Buffer.from('not a marker')])), undefined, 'garbage after SOI')
  t.equal(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), undefined, 'a scan before any frame header')
  t.equal(jpegSize(Buffer.from([0x89, 0x50, 0x4e, 0x47])), undefined, 'not a JPEG')
})

t.test('readHeader answers JPEGs from the markers, with the limits and errors it had', async (t) => {
  const jpeg = await picture(120, 80).jpeg().withMetadata({ orientation: 5 }).toBuffer()
  // withMetadata embeds sharp's sRGB profile: the native decoder leaves such files to libvips.
  t.same(await readHeader(jpeg, { maxPixels: 1e6 }), { format: 'jpeg', width: 80, height: 120, jpeg: { width: 120, height: 80, orientation: 5, iccProfile: true } })
  await t.rejects(readHeader(jpeg, { maxPixels: 9000 }), { code: 'payload_too_large', message: /120×80|80×120/ })
  const frame = jpeg.indexOf(Buffer.from([0xff, 0xc0]))
  // Unreadable markers fall back to libvips, whose refusal is the 422 it always was.
  await t.rejects(readHeader(jpeg.subarray(0, frame + 4), { maxPixels: 1e6 }), { code: 'unprocessable_image' })
})
