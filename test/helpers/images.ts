import sharp from 'sharp'

/**
 * A deterministic picture with structure in both directions (gradients and a few blocks),
 * so that transposed or shifted outputs cannot pass for correct ones.
 */
export function patternRgb (width: number, height: number, seed = 1): Buffer {
  const data = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      const block = ((Math.floor(x / 37) * 7 + Math.floor(y / 29) * 13 + seed * 31) % 17) * 9
      data[i] = (x * 255 / Math.max(1, width - 1) + block) % 256
      data[i + 1] = (y * 255 / Math.max(1, height - 1) + 2 * block) % 256
      data[i + 2] = ((x + y) * 3 + seed * 50) % 256
    }
  }
  return data
}

export const rawInput = (width: number, height: number, channels: 1 | 2 | 3 | 4 = 3): { raw: { width: number, height: number, channels: 1 | 2 | 3 | 4 } } =>
  ({ raw: { width, height, channels } })

/** Lossless PNG of the pattern. */
export async function patternPng (width: number, height: number, seed = 1): Promise<Buffer> {
  return sharp(patternRgb(width, height, seed), rawInput(width, height)).png().toBuffer()
}

export async function patternJpeg (width: number, height: number, seed = 1, quality = 90): Promise<Buffer> {
  return sharp(patternRgb(width, height, seed), rawInput(width, height)).jpeg({ quality }).toBuffer()
}

/** A multipart/form-data body with the given files, in order. */
export function multipartBody (files: Array<{ name?: string, data: Buffer, type?: string }>): { body: Buffer, contentType: string } {
  const boundary = '----dinov3-test-boundary-7d3c1f'
  const parts: Buffer[] = []
  files.forEach((file, i) => {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${file.name ?? `image-${i}`}"\r\n` +
      `Content-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`))
    parts.push(file.data, Buffer.from('\r\n'))
  })
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}
