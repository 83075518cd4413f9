import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { readRepoFile, repoPath } from './deploy-helpers.js'

export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [field: string]: any
}

/** Every document of a YAML file (a file may hold several, separated by `---`). */
export function readManifests (file: string): Manifest[] {
  return parseAllDocuments(readRepoFile(file)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`)
    return doc.toJS() as Manifest
  }).filter((m) => m !== null)
}

/** The fields of a kustomization this renderer understands; anything else must fail loudly, not be skipped. */
const understood = new Set(['apiVersion', 'kind', 'resources', 'patches'])

/**
 * What `kubectl kustomize <dir>` gives for the subset of kustomize this repository uses: `resources` (files and
 * directories holding a kustomization) and `patches` with a `path` to a strategic-merge patch. Kept small on
 * purpose, so the manifests can be rendered and validated where no kustomize binary exists; where one does, the
 * test compares the two.
 */
export function kustomize (dir: string): Manifest[] {
  const kustomization = readManifests(join(dir, 'kustomization.yaml'))[0] as any
  if (kustomization.kind !== 'Kustomization') throw new Error(`${dir}/kustomization.yaml is not a Kustomization`)
  const unknown = Object.keys(kustomization).filter((key) => !understood.has(key))
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml uses ${unknown.join(', ')}, which the test's renderer does not implement`)
  const resources = (kustomization.resources as string[] ?? []).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(repoPath(path)).isDirectory() ? kustomize(path) : readManifests(path)
  })
  for (const patch of kustomization.patches as Array<{ path?: string }> ?? []) {
    if (patch.path === undefined || Object.keys(patch).length !== 1) throw new Error(`${dir}: only \`patches: - path: file\` is implemented`)
    for (const doc of readManifests(join(dir, patch.path))) {
      const index = resources.findIndex((r) => r.kind === doc.kind && r.metadata.name === doc.metadata.name && r.apiVersion === doc.apiVersion)
      if (index === -1) throw new Error(`${dir}/${patch.path}: no ${doc.kind} ${doc.metadata.name} to patch`)
      resources[index] = strategicMerge(resources[index], doc)
    }
  }
  return resources
}

/** The YAML files of a folder that its kustomization does not name (a resource someone forgot to list). */
export function unlistedFiles (dir: string): string[] {
  const kustomization = readManifests(join(dir, 'kustomization.yaml'))[0] as any
  const named = new Set([...(kustomization.resources ?? []), ...(kustomization.patches ?? []).map((p: { path: string }) => p.path)])
  return readdirSync(repoPath(dir))
    .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml' && !named.has(file))
    .map((file) => join(dir, file))
}

/**
 * Merge keys of the lists the Kubernetes API merges element by element in a strategic-merge patch (its
 * `patchMergeKey`); every other list is replaced whole, as the API does for lists without one (tolerations, args,
 * an HPA's metrics). Only the lists of the kinds this repository patches.
 */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name'
}

function mergeKey (field: string, items: unknown[]): string | undefined {
  if (field === 'ports') return items.some((item) => typeof item === 'object' && item !== null && 'containerPort' in item) ? 'containerPort' : 'port'
  return mergeKeys[field]
}

/** A strategic-merge patch: maps merge, keyed lists merge by key (patched elements first, as kustomize orders them). */
export function strategicMerge (base: any, patch: any, field = ''): any {
  if (Array.isArray(patch)) {
    const key = mergeKey(field, [...patch, ...(Array.isArray(base) ? base : [])])
    if (key === undefined || !Array.isArray(base)) return structuredClone(patch)
    const merged = patch.map((item) => {
      const original = base.find((b) => b[key] === item[key])
      return original === undefined ? structuredClone(item) : strategicMerge(original, item)
    })
    const patchedKeys = new Set(patch.map((item) => item[key]))
    return [...merged, ...base.filter((b) => !patchedKeys.has(b[key])).map((b) => structuredClone(b))]
  }
  if (patch === null || typeof patch !== 'object' || base === null || typeof base !== 'object' || Array.isArray(base)) return structuredClone(patch)
  const result = structuredClone(base)
  for (const [k, v] of Object.entries(patch)) result[k] = k in base ? strategicMerge(base[k], v, k) : structuredClone(v)
  return result
}
