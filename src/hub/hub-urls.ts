/**
 * URL shapes of the Hugging Face hub. Revisions are encoded as one segment because
 * branch names such as `refs/pr/1` contain slashes (huggingface_hub does the same).
 */
export function repoRevisionApiUrl (endpoint: string, repoId: string, revision: string): string {
  return `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`
}

export function resolveFileUrl (endpoint: string, repoId: string, revision: string, filePath: string): string {
  const encodedPath = filePath.split('/').map(encodeURIComponent).join('/')
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${encodedPath}`
}
