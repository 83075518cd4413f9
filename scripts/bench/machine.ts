import { cpus, totalmem } from 'node:os'
import ort from 'onnxruntime-node'
import sharp from 'sharp'
import { loadConfig } from '../../src/config.js'
import { nativeJpeg } from '../../src/image/native-jpeg.js'

export interface MachineDescription {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  onnxruntime: string
  libvips: string
  /** What decodes the services' JPEGs: a checkout without build/, or NATIVE_JPEG=false, means sharp. */
  jpegDecoder: string
}

/** `serviceEnv`: the settings the benchmarked services get on top of this process's environment (`--env`). */
export function describeMachine (serviceEnv: Record<string, string>): MachineDescription {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    libvips: sharp.versions.vips,
    jpegDecoder: jpegDecoder(loadConfig({ ...process.env, ...serviceEnv }).nativeJpeg)
  }
}

/** The services' JPEG decoder: the native one where this checkout built it and their NATIVE_JPEG leaves it on. */
function jpegDecoder (nativeAllowed: boolean): string {
  if (!nativeAllowed) return 'sharp (NATIVE_JPEG=false)'
  return nativeJpeg.module === undefined ? `sharp (${nativeJpeg.unavailable ?? 'no native decoder'})` : 'native (build/native/jpeg-rgb.node)'
}
