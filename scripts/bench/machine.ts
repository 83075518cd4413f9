import { cpus, totalmem } from 'node:os'
import ort from 'onnxruntime-node'
import sharp from 'sharp'
import { nativeJpeg } from '../../src/image/native-jpeg.js'

export interface MachineDescription {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  onnxruntime: string
  libvips: string
  /** What decodes the benchmarks' JPEGs in this checkout, whose service they run: a checkout without build/ uses sharp. */
  jpegDecoder: string
}

export function describeMachine (): MachineDescription {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    libvips: sharp.versions.vips,
    jpegDecoder: nativeJpeg.module === undefined ? `sharp (${nativeJpeg.unavailable ?? 'no native decoder'})` : 'native (build/native/jpeg-rgb.node)'
  }
}
