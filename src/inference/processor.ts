import { ModelFolderError } from './model-folder-error.js'

export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3'

/** The image processor's semantics, from `preprocessor_config.json`, never from constants in code. */
export interface Processor {
  /** Where /embed resizes to: exact height and width, or the shortest edge then a centre crop. */
  resize:
  | { kind: 'exact', height: number, width: number }
  | { kind: 'shortest-edge', shortestEdge: number, crop?: { height: number, width: number } }
  | { kind: 'none' }
  kernel: ResizeKernel
  rescaleFactor: number
  mean: [number, number, number]
  std: [number, number, number]
}

/** PIL's resample codes, as Hugging Face stores them, mapped to libvips kernels. */
const kernelOfResample: Record<number, ResizeKernel> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic', 4: 'linear', 5: 'cubic' }

export function parseProcessor (raw: Record<string, unknown>, file: string): Processor {
  const fail = (message: string): never => { throw new ModelFolderError(`${file}: ${message}`) }
  const triple = (key: string, fallback: number): [number, number, number] => {
    const value = raw[key]
    if (value === undefined || value === null) return [fallback, fallback, fallback]
    const list = typeof value === 'number' ? [value, value, value] : value
    if (!Array.isArray(list) || list.length !== 3 || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return fail(`"${key}" must be three numbers, found ${JSON.stringify(value)}`)
    }
    return list as [number, number, number]
  }
  const doNormalize = raw.do_normalize !== false
  const mean = doNormalize ? triple('image_mean', 0) : [0, 0, 0] as [number, number, number]
  const std = doNormalize ? triple('image_std', 1) : [1, 1, 1] as [number, number, number]
  if (std.some((s) => s <= 0)) fail(`"image_std" must be positive, found ${JSON.stringify(std)}`)
  const rescale = raw.do_rescale !== false
  const rescaleFactor = rescale ? (typeof raw.rescale_factor === 'number' ? raw.rescale_factor : 1 / 255) : 1
  const resample = typeof raw.resample === 'number' ? raw.resample : 2

  return {
    resize: raw.do_resize === false ? { kind: 'none' } : parseResize(raw, fail),
    kernel: kernelOfResample[resample] ?? 'linear',
    rescaleFactor,
    mean,
    std
  }
}

function parseResize (raw: Record<string, unknown>, fail: (message: string) => never): Processor['resize'] {
  const size = raw.size
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0
  if (positive(size)) return { kind: 'exact', height: size, width: size }
  if (typeof size === 'object' && size !== null) {
    const s = size as Record<string, unknown>
    if (positive(s.height) && positive(s.width)) return { kind: 'exact', height: s.height, width: s.width }
    if (positive(s.shortest_edge)) {
      const crop = raw.crop_size as Record<string, unknown> | null | undefined
      const centreCrop = raw.do_center_crop === true && crop !== undefined && crop !== null && positive(crop.height) && positive(crop.width)
      return { kind: 'shortest-edge', shortestEdge: s.shortest_edge, crop: centreCrop ? { height: crop.height as number, width: crop.width as number } : undefined }
    }
  }
  return fail(`"size" must be {"height","width"} or {"shortest_edge"}, found ${JSON.stringify(size)}`)
}
