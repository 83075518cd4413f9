import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import ort from 'onnxruntime-node'

/**
 * The model's answer computed without the service: preprocessing by hand from the folder's own
 * preprocessor_config.json, and a plain ONNX Runtime session. Shared by the tests as the ground truth.
 */
export interface ReferenceRun {
  hidden: Float32Array
  tokens: number
  channels: number
}

export function folderNormalisation (modelDir: string): { mean: number[], std: number[], rescale: number } {
  const processor = JSON.parse(readFileSync(join(modelDir, 'preprocessor_config.json'), 'utf8'))
  return { mean: processor.image_mean, std: processor.image_std, rescale: processor.rescale_factor }
}

/** HWC bytes → CHW floats, (v·rescale − mean) / std, padded with zeros to paddedWidth × paddedHeight. */
export function normaliseByHand (rgb: Uint8Array, width: number, height: number, modelDir: string, paddedWidth = width, paddedHeight = height): Float32Array {
  const { mean, std, rescale } = folderNormalisation(modelDir)
  const out = new Float32Array(3 * paddedWidth * paddedHeight)
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[c * paddedWidth * paddedHeight + y * paddedWidth + x] = (rgb[(y * width + x) * 3 + c] * rescale - mean[c]) / std[c]
      }
    }
  }
  return out
}

export async function runBackbone (modelDir: string, pixels: Float32Array, batch: number, height: number, width: number): Promise<ReferenceRun> {
  const session = await ort.InferenceSession.create(join(modelDir, 'onnx', 'model.onnx'))
  try {
    const result = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, height, width]) })
    const [, tokens, channels] = result.last_hidden_state.dims
    return { hidden: result.last_hidden_state.data as Float32Array, tokens, channels }
  } finally {
    await session.release()
  }
}

export function maxAbsDiff (a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

/** A head run directly, with the patch rows of a reference backbone run as its [1, C, h, w] input. */
export async function runHeadOnTokens (modelDir: string, head: string, run: ReferenceRun, registers: number, gridHeight: number, gridWidth: number): Promise<{ data: Float32Array, dims: readonly number[] }> {
  const { hidden, channels } = run
  const cells = gridHeight * gridWidth
  const features = new Float32Array(channels * cells)
  for (let cell = 0; cell < cells; cell++) {
    for (let c = 0; c < channels; c++) features[c * cells + cell] = hidden[(1 + registers + cell) * channels + c]
  }
  const session = await ort.InferenceSession.create(join(modelDir, 'heads', head, 'model.onnx'))
  try {
    const feeds: Record<string, ort.Tensor> = { patch_features: new ort.Tensor('float32', features, [1, channels, gridHeight, gridWidth]) }
    if (session.inputNames.includes('cls_token')) feeds.cls_token = new ort.Tensor('float32', hidden.slice(0, channels), [1, channels])
    const output = (await session.run(feeds))[session.outputNames[0]]
    return { data: output.data as Float32Array, dims: output.dims }
  } finally {
    await session.release()
  }
}

/**
 * PyTorch's bilinear interpolation (align_corners=False) of one plane of a map that covers a padded canvas,
 * sampled at an original pixel: written out per pixel, independently of the service's separable code.
 */
export function bilinearAt (plane: Float32Array, mapWidth: number, mapHeight: number, stepX: number, stepY: number, x: number, y: number): number {
  const sx = Math.min(Math.max((x + 0.5) * stepX - 0.5, 0), mapWidth - 1)
  const sy = Math.min(Math.max((y + 0.5) * stepY - 0.5, 0), mapHeight - 1)
  const x0 = Math.floor(sx)
  const y0 = Math.floor(sy)
  const x1 = Math.min(x0 + 1, mapWidth - 1)
  const y1 = Math.min(y0 + 1, mapHeight - 1)
  const fx = sx - x0
  const fy = sy - y0
  const at = (xx: number, yy: number): number => plane[yy * mapWidth + xx]
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1))
}
