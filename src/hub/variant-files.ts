import type { ExpectedChecksum, RepoFile } from './hub-api.js'
import { HubError } from './hub-errors.js'

/** Files the service reads next to the ONNX graph, whatever the variant. */
export const SUPPORT_FILES = ['config.json', 'preprocessor_config.json'] as const

/** The variants onnx-community exports usually carry; others are accepted if the repo has them. */
export const COMMON_VARIANTS = ['fp32', 'fp16', 'quantized', 'q4'] as const

export interface VerifiedRepoFile extends RepoFile {
  size: number;
  checksum: ExpectedChecksum;
}

/** fp32 is the un-suffixed export; every other variant is `model_<variant>.onnx`. */
export function onnxPathForVariant (variant: string): string {
  return variant === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${variant}.onnx`
}

/** Variants present in the repo, read off its `onnx/model*.onnx` files. */
export function availableVariants (files: readonly RepoFile[]): string[] {
  const variants = files.flatMap((file) => {
    const match = /^onnx\/model(?:_([\w-]+))?\.onnx$/.exec(file.path)
    if (!match) return []
    return [match[1] ?? 'fp32']
  })
  return variants.sort((a, b) => variantRank(a) - variantRank(b) || a.localeCompare(b))
}

function variantRank (variant: string): number {
  const index = (COMMON_VARIANTS as readonly string[]).indexOf(variant)
  return index === -1 ? COMMON_VARIANTS.length : index
}

/**
 * Everything a variant needs, in download order: the small JSON files first (so a bad
 * repo fails fast), then the graph, then its external-data files. Graphs over 2 GB keep
 * their weights in `<graph>_data`, and very large ones split that into `_data_1`, `_data_2`…
 */
export function filesForVariant (files: readonly RepoFile[], variant: string, repoId: string): VerifiedRepoFile[] {
  const onnxPath = onnxPathForVariant(variant)
  const byPath = new Map(files.map((file) => [file.path, file]))
  const graph = byPath.get(onnxPath)
  if (!graph) {
    const available = availableVariants(files)
    const list = available.length > 0 ? available.join(', ') : 'none (no onnx/model*.onnx in the repo)'
    throw new HubError('unknown-variant', `${repoId} has no ${variant} variant (${onnxPath}); available: ${list}`)
  }
  const dataPattern = new RegExp(`^${escapeRegExp(onnxPath)}_data(?:_(\\d+))?$`)
  const externalData = files
    .flatMap((file) => {
      const match = dataPattern.exec(file.path)
      return match ? [{ file, shard: match[1] === undefined ? 0 : Number(match[1]) }] : []
    })
    .sort((a, b) => a.shard - b.shard)
    .map(({ file }) => file)

  const supportFiles = SUPPORT_FILES.map((path) => {
    const file = byPath.get(path)
    if (!file) {
      throw new HubError('invalid-response', `${repoId} has no ${path}; it does not look like an ONNX export for this service`)
    }
    return file
  })
  return [...supportFiles, graph, ...externalData].map((file) => requireVerifiable(file, repoId))
}

function requireVerifiable (file: RepoFile, repoId: string): VerifiedRepoFile {
  if (file.size === undefined || file.checksum === undefined) {
    throw new HubError(
      'invalid-response',
      `the listing of ${repoId} gives no size or checksum for ${file.path}, so it cannot be verified; is HF_ENDPOINT a Hugging Face hub?`
    )
  }
  return file as VerifiedRepoFile
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
