import sharp, { type Metadata } from 'sharp'
import { badRequest, ServiceError } from '../errors.js'
import { decodeNpy } from '../image/npy.js'
import { sniffFormat } from '../image/sniff-format.js'

/** A label map (pixel = class index) or a depth map (metres, 0 = no value), row-major [height, width]. */
export interface TargetMap<T extends Uint8Array | Uint16Array | Float32Array> {
  data: T
  width: number
  height: number
}

export const IGNORE_LABEL = 255

/** A single-channel PNG, 8 or 16 bits, as its stored sample values (no colour conversion, no scaling). */
async function grayPng (bytes: Buffer, file: string, what: string): Promise<TargetMap<Uint8Array | Uint16Array>> {
  const sniffed = sniffFormat(bytes)
  if (!sniffed.accepted || sniffed.format !== 'png') {
    throw badRequest(`${file}: a ${what} must be a PNG, this is ${sniffed.accepted ? sniffed.format.toUpperCase() : sniffed.detected}`)
  }
  let meta: Metadata
  try {
    meta = await sharp(bytes).metadata()
  } catch (error) {
    throw new ServiceError('unprocessable_image', `${file}: the ${what} PNG cannot be decoded (${(error as Error).message.split('\n')[0]})`)
  }
  if (meta.channels !== 1 || meta.isPalette) {
    throw badRequest(`${file}: a ${what} must be a 1-channel (grayscale) PNG, this one has ${meta.isPalette ? 'a palette' : `${meta.channels ?? '?'} channels`}`)
  }
  const sixteen = meta.depth === 'ushort'
  try {
    const { data, info } = await sharp(bytes).toColourspace(sixteen ? 'grey16' : 'b-w').raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true })
    if (info.channels !== 1) throw new Error(`decoded to ${info.channels} channels`)
    const values = sixteen
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2).slice()
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    return { data: values, width: info.width, height: info.height }
  } catch (error) {
    throw new ServiceError('unprocessable_image', `${file}: the ${what} PNG cannot be decoded (${(error as Error).message.split('\n')[0]})`)
  }
}

/** Only the size, for the checks made before a job is accepted. */
export async function pngSize (bytes: Buffer, file: string, what: string): Promise<{ width: number, height: number }> {
  const sniffed = sniffFormat(bytes)
  if (!sniffed.accepted || sniffed.format !== 'png') {
    throw badRequest(`${file}: a ${what} must be a PNG, this is ${sniffed.accepted ? sniffed.format.toUpperCase() : sniffed.detected}`)
  }
  const meta = await sharp(bytes).metadata().catch((error: Error) => {
    throw new ServiceError('unprocessable_image', `${file}: the ${what} PNG cannot be decoded (${error.message.split('\n')[0]})`)
  })
  return { width: meta.width ?? 0, height: meta.height ?? 0 }
}

export async function decodeMask (bytes: Buffer, file: string): Promise<TargetMap<Uint8Array | Uint16Array>> {
  return grayPng(bytes, file, 'mask')
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])

export const isNpy = (bytes: Buffer): boolean => bytes.subarray(0, NPY_MAGIC.length).equals(NPY_MAGIC)

/** A depth map in metres: a 16-bit PNG in millimetres or a float32 .npy [H, W] in metres; 0 (or not finite) = no value. */
export async function decodeDepth (bytes: Buffer, file: string): Promise<TargetMap<Float32Array>> {
  if (isNpy(bytes)) {
    const { data, shape } = npyDepth(bytes, file)
    const metres = Float32Array.from(data as Float32Array, (v) => Number.isFinite(v) && v > 0 ? v : 0)
    return { data: metres, width: shape[1], height: shape[0] }
  }
  const png = await grayPng(bytes, file, 'depth map')
  if (!(png.data instanceof Uint16Array)) throw badRequest(`${file}: a depth PNG must be 16-bit (millimetres), this one is 8-bit`)
  return { data: Float32Array.from(png.data, (mm) => mm / 1000), width: png.width, height: png.height }
}

function npyDepth (bytes: Buffer, file: string): { data: Float32Array, shape: number[] } {
  let decoded
  try {
    decoded = decodeNpy(bytes)
  } catch (error) {
    throw badRequest(`${file}: unreadable .npy (${(error as Error).message})`)
  }
  if (decoded.dtype !== '<f4' || decoded.shape.length !== 2) {
    throw badRequest(`${file}: a depth .npy must be float32 [H, W] in metres, this one is ${decoded.dtype} [${decoded.shape.join(', ')}]`)
  }
  return { data: decoded.data as Float32Array, shape: decoded.shape }
}

/** The size of a depth map without decoding its values. */
export async function depthSize (bytes: Buffer, file: string): Promise<{ width: number, height: number }> {
  if (isNpy(bytes)) {
    const { shape } = npyDepth(bytes, file)
    return { width: shape[1], height: shape[0] }
  }
  return pngSize(bytes, file, 'depth map')
}
