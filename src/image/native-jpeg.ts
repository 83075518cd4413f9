import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ResizeKernel } from '../inference/processor.js'
import type { RgbImage } from './decode.js'
import type { JpegInfo } from './jpeg-header.js'

/** build/native/jpeg-rgb.node (scripts/build-native.sh): a JPEG decoded and resampled on libuv's pool. */
interface JpegRgbModule {
  decode: (jpeg: Uint8Array, width: number, height: number, kernel: number, cropLeft: number, cropTop: number, cropWidth: number, cropHeight: number,
    orientation?: number) => Promise<Buffer>
  decodeToTensor: (jpeg: Uint8Array, width: number, height: number, kernel: number, cropLeft: number, cropTop: number, cropWidth: number, cropHeight: number,
    tensor: Float32Array, table: Float32Array, paddedWidth: number, paddedHeight: number, orientation?: number) => Promise<Float32Array>
}

/** Where the native decoder is: the kernels it resamples with, in its own numbering. */
const kernelNumber: Partial<Record<ResizeKernel, number>> = { linear: 0, cubic: 1, lanczos3: 2 }

/** The model-input rectangle wanted: the image resized to `width`×`height`, then the `crop` cut out of it. */
export interface NativeTarget {
  /** EXIF orientation (1–8) of the file; width, height and crop are in the picture as seen. */
  orientation: number
  width: number
  height: number
  kernel: ResizeKernel
  crop: { left: number, top: number, width: number, height: number }
}

/** Where a decode may write the model's input itself: the tensor's planes, padded, and the normalisation table. */
export interface TensorTarget {
  out: Float32Array
  /** 3 × 256 floats: each channel's normalised value of each byte (normalize.ts' tables, one after the other). */
  table: Float32Array
  padded: { width: number, height: number }
}

/** The module, or why there is none (logged once at start-up). */
export const nativeJpeg: { module?: JpegRgbModule, unavailable?: string } = load()

function load (): { module?: JpegRgbModule, unavailable?: string } {
  // From src/image/ (tsx) or dist/src/image/ (compiled): the project root is two or three folders up.
  const here = dirname(fileURLToPath(import.meta.url))
  const file = [join(here, '..', '..', 'build', 'native', 'jpeg-rgb.node'), join(here, '..', '..', '..', 'build', 'native', 'jpeg-rgb.node')].find(existsSync)
  if (file === undefined) return { unavailable: 'build/native/jpeg-rgb.node is not built (scripts/build-native.sh)' }
  try {
    return { module: createRequire(import.meta.url)(file) as JpegRgbModule }
  } catch (error) {
    return { unavailable: `build/native/jpeg-rgb.node does not load: ${(error as Error).message}` }
  }
}

/**
 * Whether the native decoder gives what libvips would: no ICC profile (sharp converts embedded profiles to sRGB; the
 * native path does not), and a kernel it has. CMYK and damaged files it refuses by itself.
 */
export function decodesNatively (info: JpegInfo | undefined, kernel: ResizeKernel): info is JpegInfo {
  return nativeJpeg.module !== undefined && info !== undefined && !info.iccProfile && kernelNumber[kernel] !== undefined
}

/**
 * The JPEG decoded straight to the target (sharp's shrink-on-load rule, then one resample in floats: within a level
 * or two of libvips' pixels), as RGB bytes, or normalised into `tensor` where one is given (nothing is handed back
 * but the tensor). Undefined where the decoder refuses the file (CMYK, any warning such as truncation, enlarging,
 * too large), so that sharp decodes it and words the error.
 */
export async function decodeJpegNatively (bytes: Buffer, target: NativeTarget): Promise<RgbImage | undefined> {
  const { crop } = target
  const data = await refusedAsUndefined((module, kernel) => module.decode(bytes, target.width, target.height, kernel, crop.left, crop.top, crop.width, crop.height, target.orientation), target)
  return data === undefined ? undefined : { data, width: crop.width, height: crop.height }
}

export async function decodeJpegToTensor (bytes: Buffer, target: NativeTarget, tensor: TensorTarget): Promise<Float32Array | undefined> {
  const { crop } = target
  return await refusedAsUndefined((module, kernel) => module.decodeToTensor(bytes, target.width, target.height, kernel, crop.left, crop.top, crop.width, crop.height,
    tensor.out, tensor.table, tensor.padded.width, tensor.padded.height, target.orientation), target)
}

async function refusedAsUndefined<T> (decode: (module: JpegRgbModule, kernel: number) => Promise<T>, target: NativeTarget): Promise<T | undefined> {
  const module = nativeJpeg.module
  const kernel = kernelNumber[target.kernel]
  if (module === undefined || kernel === undefined) return undefined
  try {
    return await decode(module, kernel)
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_NATIVE_JPEG_REFUSED') return undefined
    throw error
  }
}
