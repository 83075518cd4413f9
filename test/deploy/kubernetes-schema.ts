import type { Manifest } from './kustomize-lite.js'

/**
 * Validation against the Kubernetes API's own OpenAPI schemas, offline: `kubernetes-models` (and its
 * prometheus-operator sibling for the ServiceMonitor CRD) ship them compiled to ajv validators.
 */

type Validate = (this: unknown) => void

/** Where each group's models live: the core group is `v1`, CRDs come from their own package. */
function modelModule (apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
  return `kubernetes-models/${apiVersion}/${kind}`
}

async function validatorFor (apiVersion: string, kind: string): Promise<Validate> {
  let module: Record<string, { prototype: { validate: Validate } }>
  try {
    module = await import(modelModule(apiVersion, kind))
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind}: not a Kubernetes API version and kind that kubernetes-models knows`)
  }
  const model = module[kind]
  if (model === undefined) throw new Error(`no schema for ${apiVersion} ${kind}`)
  return model.prototype.validate
}

/**
 * Problems with one manifest: schema violations (wrong types, missing required fields, bad enum values) and
 * unknown fields, which the API server refuses under strict field validation (kubectl's default) but the schemas
 * do not forbid. A field is unknown when the compiled validator never reads it: it reads every property its
 * schema declares, and iterates the keys of maps (labels, resources), so what it never touched is no field.
 */
export async function schemaProblems (manifest: Manifest): Promise<string[]> {
  let validate: Validate
  try {
    validate = await validatorFor(manifest.apiVersion, manifest.kind)
  } catch (error) {
    return [(error as Error).message]
  }
  const unread = new Map<string, Set<string>>()
  try {
    validate.call(tracked(manifest, '', unread, new WeakMap()))
  } catch (error) {
    return [(error as Error).message]
  }
  return [...unread].flatMap(([path, keys]) => [...keys].map((key) => `unknown field ${path}/${key}`))
}

function tracked (value: unknown, path: string, unread: Map<string, Set<string>>, proxies: WeakMap<object, object>): unknown {
  if (value === null || typeof value !== 'object') return value
  const known = proxies.get(value)
  if (known !== undefined) return known
  const keys = new Set(Array.isArray(value) ? [] : Object.keys(value))
  if (keys.size > 0) unread.set(path, keys)
  const proxy = new Proxy(value, {
    get (target, key, receiver) {
      const field = Reflect.get(target, key, receiver)
      if (typeof key !== 'string') return field
      keys.delete(key)
      return tracked(field, `${path}/${key}`, unread, proxies)
    },
    has (target, key) {
      if (typeof key === 'string') keys.delete(key)
      return Reflect.has(target, key)
    },
    ownKeys (target) {
      keys.clear()
      return Reflect.ownKeys(target)
    }
  })
  proxies.set(value, proxy)
  return proxy
}
