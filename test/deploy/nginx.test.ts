import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { scratchDir } from '../helpers/models.js'
import { readRepoFile, run, toolVersion } from './deploy-helpers.js'

const conf = readRepoFile('deploy/nginx/nginx.conf')
const defaults = loadConfig({})
const directive = (name: string): string | undefined => new RegExp(`^\\s*${name}\\s+([^;]+);`, 'm').exec(conf)?.[1]
const seconds = (value: string | undefined): number => {
  const match = /^(\d+)(s|m)?$/.exec(value ?? '')
  return match === null ? NaN : Number(match[1]) * (match[2] === 'm' ? 60 : 1)
}

t.test('nginx lets through the bodies and waits for the answers the service allows', async (t) => {
  const limit = /^(\d+)m$/.exec(directive('client_max_body_size') ?? '')?.[1]
  t.equal(Number(limit) * 1024 * 1024, defaults.bodyLimitBytes, 'client_max_body_size is BODY_LIMIT_MB')
  t.ok(seconds(directive('proxy_read_timeout')) > defaults.tiledRequestTimeoutMs / 1000, 'read timeout beyond the longest deadline (tiled requests)')
  t.ok(seconds(directive('proxy_read_timeout')) > defaults.requestTimeoutMs / 1000)
})

t.test('nginx balances by open requests over replicas it re-resolves, and retries only refusals', async (t) => {
  t.match(conf, /upstream dinov3 \{[^}]*zone dinov3 [^;]+;[^}]*least_conn;[^}]*server dinov3-scaled:8080 resolve[^;]*;/s)
  t.match(directive('resolver'), /^127\.0\.0\.11\b/, "Docker's embedded DNS")
  const retry = directive('proxy_next_upstream')?.split(/\s+/) ?? []
  t.ok(retry.includes('http_503') && retry.includes('http_429'), 'a loading, stopping or full replica hands the request on')
  t.notOk(retry.includes('timeout'), 'a timed-out (possibly long, tiled) request is never run twice')
  t.match(conf, /location = \/metrics \{[^}]*return 404/s, 'metrics are scraped per replica, not through the balancer')
})

/** nginx -t on a copy that this machine can check: no DNS name to resolve, temp paths and logs in a scratch folder. */
const version = toolVersion('nginx', ['-v'])
const [major = 0, minor = 0, patch = 0] = (/nginx\/(\d+)\.(\d+)\.(\d+)/.exec(version ?? '')?.slice(1) ?? []).map(Number)
const hasResolve = major > 1 || (major === 1 && (minor > 27 || (minor === 27 && patch >= 3)))
t.test('nginx -t accepts the configuration', { skip: version === undefined ? 'nginx not found: apt-get install nginx-light (Debian), or run `docker run --rm -v $PWD/deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro nginx:1.28-alpine nginx -t`' : false }, async (t) => {
  const dir = scratchDir(t)
  mkdirSync(join(dir, 'conf'))
  let copy = conf.replace('dinov3-scaled:8080', '127.0.0.1:8080')
    // /dev/stdout is a socket under execFile, which nginx cannot open: logs go to files.
    .replace(/\/dev\/(stdout|stderr)/g, `${dir}/$1.log`)
    .replace(/^http \{$/m, `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;`)
  // Before 1.27.3 open-source nginx has no `resolve`: check the rest of the file.
  if (!hasResolve) copy = copy.replace(/ resolve /, ' ')
  writeFileSync(join(dir, 'conf', 'nginx.conf'), `pid ${dir}/nginx.pid;\n${copy}`)
  const result = await run('nginx', ['-t', '-p', dir, '-c', 'conf/nginx.conf', '-e', 'stderr'])
  t.equal(result.code, 0, `${version}${result.stderr}`)
})
