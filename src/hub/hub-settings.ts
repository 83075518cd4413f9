import { HubError } from './hub-errors.js'

export const DEFAULT_REPO_ID = 'onnx-community/dinov3-vits16-pretrain-lvd1689m-ONNX'
export const DEFAULT_ENDPOINT = 'https://huggingface.co'
export const DEFAULT_REVISION = 'main'
export const DEFAULT_MODELS_DIR = 'models'

export interface HubSettings {
  /** Base URL without a trailing slash; may carry a path prefix (some mirrors do). */
  endpoint: string;
  token: string | undefined;
}

/** Reads the same variables huggingface_hub reads, so existing setups keep working. */
export function hubSettingsFromEnv (env: NodeJS.ProcessEnv = process.env): HubSettings {
  return {
    endpoint: normaliseEndpoint(env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT),
    token: env.HF_TOKEN?.trim() || undefined,
  }
}

export function normaliseEndpoint (endpoint: string): string {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new HubError('bad-input', `HF_ENDPOINT is not a URL: ${JSON.stringify(endpoint)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('bad-input', `HF_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`)
  }
  return endpoint.replace(/\/+$/, '')
}

/** `owner/name`, with the characters the hub allows in either part. */
export function isValidRepoId (repoId: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(repoId) && !repoId.split('/').some((part) => part === '.' || part === '..')
}

/** The folder a pulled repo lands in: the part after the slash, as users expect from `git clone`. */
export function repoFolderName (repoId: string): string {
  return repoId.slice(repoId.indexOf('/') + 1)
}
