import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import t from 'tap'

// semver is in the tree already (fastify's), and is what npm itself checks engines with.
const semver = createRequire(import.meta.url)('semver') as { subset: (sub: string, dom: string) => boolean, validRange: (range: string) => string | null }

interface LockEntry { version?: string, engines?: { node?: string }, optional?: boolean, os?: string[], cpu?: string[] }

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockEntry> }

t.test('every installed dependency supports every Node version package.json promises (npm ci warns of no engine)', async (t) => {
  const promised = manifest.engines.node
  t.ok(semver.validRange(promised), `engines.node is a range: ${promised}`)
  t.ok(semver.subset('20.19.0', promised) && semver.subset('22.13.0', promised), 'Node 20, which CI and the images run, and 22 are promised')
  const refusing: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    const wanted = entry.engines?.node
    if (path === '' || wanted === undefined) continue
    // Prebuilt binaries for other platforms are never installed here; npm checks engines only for what it installs.
    if (entry.optional === true && (entry.os !== undefined || entry.cpu !== undefined)) continue
    if (!semver.subset(promised, wanted)) refusing.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${wanted}`)
  }
  t.same(refusing, [], 'pin (package.json overrides) or replace what wants a newer Node')
})
