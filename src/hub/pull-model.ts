import { join } from 'node:path'
import { listRepoFiles } from './hub-api.js'
import { downloadFile, type DownloadOutcome, type RetryPolicy } from './download-file.js'
import { HubError } from './hub-errors.js'
import { DEFAULT_REPO_ID, isValidRepoId, normaliseEndpoint, repoFolderName } from './hub-settings.js'
import { resolveFileUrl } from './hub-urls.js'
import { createProgressReporter, type ProgressStream } from './progress.js'
import { filesForVariant, onnxPathForVariant } from './variant-files.js'

export interface PullModelOptions {
  repoId: string;
  variant: string;
  revision: string;
  /** Parent folder; the model lands in `<dir>/<repo name>`. */
  dir: string;
  endpoint: string;
  token?: string | undefined;
  /** Defaults to process.stderr, so stdout stays free for the final instructions. */
  progressStream?: ProgressStream;
  retry?: RetryPolicy;
  apiTimeoutMs?: number;
}

export interface PulledFile {
  path: string;
  size: number;
  outcome: DownloadOutcome;
}

export interface PullModelResult {
  modelDir: string;
  /** The commit the files came from, when the hub named one. */
  commitSha: string | undefined;
  /** Repo-relative path of the ONNX graph for the chosen variant. */
  onnxPath: string;
  files: PulledFile[];
}

/** Lists the repo, picks the variant's files and downloads them one after another. */
export async function pullModel (options: PullModelOptions): Promise<PullModelResult> {
  const { repoId, variant, revision, token } = options
  if (!isValidRepoId(repoId)) {
    throw new HubError('bad-input', `"${repoId}" is not a hub id; expected owner/name, e.g. ${DEFAULT_REPO_ID}`)
  }
  const endpoint = normaliseEndpoint(options.endpoint)
  const reporter = createProgressReporter(options.progressStream ?? process.stderr)

  const listing = await listRepoFiles({ endpoint, repoId, revision, token, timeoutMs: options.apiTimeoutMs })
  const wanted = filesForVariant(listing.files, variant, repoId)
  // Pin downloads to the listed commit so a push during a long pull cannot mix versions.
  const downloadRevision = listing.commitSha ?? revision
  const modelDir = join(options.dir, repoFolderName(repoId))

  const files: PulledFile[] = []
  for (const file of wanted) {
    const outcome = await downloadFile({
      url: resolveFileUrl(endpoint, repoId, downloadRevision, file.path),
      // Listing paths are matched against fixed patterns in variant-files, so they cannot escape modelDir.
      destination: join(modelDir, ...file.path.split('/')),
      file,
      repoId,
      endpoint,
      token,
      progress: reporter.forFile(file.path, file.size),
      retry: options.retry,
    })
    files.push({ path: file.path, size: file.size, outcome })
  }
  return { modelDir, commitSha: listing.commitSha, onnxPath: onnxPathForVariant(variant), files }
}
