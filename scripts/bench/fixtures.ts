import { mkdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { writeSyntheticModel, type SyntheticModelOptions } from '../../src/synthetic/synthetic-model.js'

export const benchDir = join(process.cwd(), 'bench-results')

/**
 * The ViT-S/16-sized synthetic model with its heads and an int8 variant, written once and reused. Its attention is
 * fused (com.microsoft MultiHeadAttention), as exports optimised with onnxruntime's transformer optimizer are.
 */
export function benchModel (): string {
  return writtenOnce('synthetic-vits16-fused', { attention: 'fused', variants: ['quantized'], heads: { classes: 21 } })
}

/** The same weights with attention as PyTorch exports it (MatMul, Softmax, MatMul), for the memory comparison. */
export function plainAttentionModel (): string {
  return writtenOnce('synthetic-vits16-plain', { attention: 'plain' })
}

/** ADE20K's size of segmentation head (150 classes) on the ViT-S/16-sized backbone: the usual post-processing load. */
export function ade20kSizedModel (): string {
  return writtenOnce('synthetic-vits16-150', { attention: 'fused', heads: { classes: 150 } })
}

function writtenOnce (name: string, options: SyntheticModelOptions): string {
  const dir = join(benchDir, 'models', name)
  if (!existsSync(join(dir, 'config.json'))) {
    mkdirSync(dir, { recursive: true })
    writeSyntheticModel(dir, { preset: 'small', seed: 0, externalData: true, ...options })
  }
  return dir
}

/** A photo-like test picture: smooth gradients, edges and noise, so JPEG work is realistic. */
export async function photoJpeg (width: number, height: number, quality = 90): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3)
  let seed = 12345
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return (seed / 0x7fffffff - 0.5) * 24
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      const u = x / width
      const v = y / height
      const stripe = Math.sin(u * 40 + v * 13) > 0.6 ? 60 : 0
      data[i] = clamp(120 + 100 * Math.sin(u * 6.3) + stripe + noise())
      data[i + 1] = clamp(90 + 120 * v + noise())
      data[i + 2] = clamp(160 - 90 * u * v + (((x >> 5) + (y >> 5)) % 2) * 40 + noise())
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer()
}

const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)))
