import { cpus, totalmem } from 'node:os'
import ort from 'onnxruntime-node'
import sharp from 'sharp'

export interface MachineDescription {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  onnxruntime: string
  libvips: string
}

export function describeMachine (): MachineDescription {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    libvips: sharp.versions.vips
  }
}
