import sharp, { type Sharp } from 'sharp'
import { patternRgb, rawInput } from '../../helpers/images.js'

/** A valid image to start mutating from. */
export interface Specimen {
  name: string
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif'
  bytes: Buffer
}

const rgb = (width: number, height: number, seed = 1): Sharp => sharp(patternRgb(width, height, seed), rawInput(width, height))

/**
 * Small valid images of every accepted format and the variants decoders treat differently: grey, alpha, 16-bit,
 * palette, CMYK, EXIF-rotated, progressive, animated, one pixel, and lines one pixel thin.
 */
export async function imageCorpus (): Promise<Specimen[]> {
  const frame = async (seed: number): Promise<Buffer> => rgb(24, 16, seed).png().toBuffer()
  const made: Array<[string, Specimen['format'], Promise<Buffer>]> = [
    ['png rgb 48×32', 'png', rgb(48, 32).png().toBuffer()],
    ['png rgba 33×17', 'png', rgb(33, 17).ensureAlpha(0.5).png().toBuffer()],
    ['png grey 16-bit 40×40', 'png', rgb(40, 40).toColourspace('grey16').png().toBuffer()],
    ['png palette 30×30', 'png', rgb(30, 30).png({ palette: true, colours: 16 }).toBuffer()],
    ['png 1×1', 'png', rgb(1, 1).png().toBuffer()],
    ['png 1×700', 'png', rgb(1, 700).png().toBuffer()],
    ['png 900×1', 'png', rgb(900, 1).png().toBuffer()],
    ['jpeg 64×48', 'jpeg', rgb(64, 48).jpeg({ quality: 80 }).toBuffer()],
    ['jpeg grey 50×30', 'jpeg', rgb(50, 30).greyscale().jpeg().toBuffer()],
    ['jpeg progressive 40×56', 'jpeg', rgb(40, 56).jpeg({ progressive: true }).toBuffer()],
    ['jpeg cmyk 32×32', 'jpeg', rgb(32, 32).toColourspace('cmyk').jpeg().toBuffer()],
    ['jpeg exif-rotated 60×20', 'jpeg', rgb(60, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ['jpeg 2×600', 'jpeg', rgb(2, 600).jpeg().toBuffer()],
    ['webp lossy 40×40', 'webp', rgb(40, 40).webp({ quality: 70 }).toBuffer()],
    ['webp lossless alpha 36×20', 'webp', rgb(36, 20).ensureAlpha(0.3).webp({ lossless: true }).toBuffer()],
    ['gif 32×32', 'gif', rgb(32, 32).gif().toBuffer()],
    ['gif animated 24×16', 'gif', Promise.all([frame(1), frame(2), frame(3)]).then(async (frames) => sharp(frames, { join: { animated: true } }).gif().toBuffer())],
    ['tiff 30×20', 'tiff', rgb(30, 20).tiff().toBuffer()],
    ['tiff 16-bit lzw 28×28', 'tiff', rgb(28, 28).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer()],
    ['avif 32×24', 'avif', rgb(32, 24).avif({ quality: 50 }).toBuffer()]
  ]
  return Promise.all(made.map(async ([name, format, bytes]) => ({ name, format, bytes: await bytes })))
}
