import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { scratchDir } from '../helpers/models.js'
import { hasTool, readRepoFile, readYaml, repoPath, run } from './deploy-helpers.js'

interface Service {
  image?: string
  build?: { context: string, target: string }
  profiles?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  entrypoint?: string[]
  depends_on?: string[]
  deploy?: { replicas?: number | string, resources?: { reservations?: { devices?: Array<{ driver: string, count?: number, capabilities: string[] }> } } }
}

const compose = readYaml('docker-compose.yml') as { services: Record<string, Service>, volumes: Record<string, unknown> }
const services = compose.services
const dockerCompose = hasTool('docker-compose', ['version'])
const skip = dockerCompose ? false : 'docker-compose not found: apt-get install docker-compose (Debian; v1 validates without a Docker engine) to run this check'

/** A compose run with no variables from this shell, so that the file's own defaults are what is checked. */
const composeEnv = { PATH: process.env.PATH, HOME: process.env.HOME }

t.test('docker-compose validates the file with every profile and renders it', { skip }, async (t) => {
  const result = await run('docker-compose', ['-f', repoPath('docker-compose.yml'), '--profile', 'gpu', '--profile', 'scale', '--profile', 'grafana', '--profile', 'tools', 'config'], { env: composeEnv })
  t.equal(result.code, 0, result.stderr)
  const rendered = parseYaml(result.stdout) as { services: Record<string, Service> }
  t.same(Object.keys(rendered.services).sort(), ['dinov3', 'dinov3-gpu', 'dinov3-scaled', 'grafana', 'lb', 'model-pull', 'prometheus'])
  t.equal(rendered.services['dinov3-scaled'].deploy?.replicas, 3, 'replicas interpolate to a number')
  t.same(rendered.services.dinov3.environment?.MODELS_DIR, '/models')
})

t.test('docker-compose rejects a broken copy (the validator is live)', { skip }, async (t) => {
  const dir = scratchDir(t)
  const file = join(dir, 'docker-compose.yml')
  // eslint-disable-next-line no-template-curly-in-string -- compose's own ${VAR} syntax, not a template
  writeFileSync(file, readRepoFile('docker-compose.yml').replace('replicas: ${DINOV3_REPLICAS:-3}', 'replicas: several'))
  const result = await run('docker-compose', ['-f', file, 'config', '-q'], { env: composeEnv })
  t.not(result.code, 0)
  t.match(result.stderr, /replicas/)
})

t.test('the default service is the CPU image, with the models volume read-only', async (t) => {
  const cpu = services.dinov3
  t.equal(cpu.profiles, undefined, 'no profile: starts by default')
  t.equal(cpu.build?.target, 'cpu')
  t.ok(cpu.volumes?.some((v) => /:\/models:ro$/.test(v)), 'models mounted read-only')
  t.equal(cpu.environment?.MODELS_DIR, '/models')
  t.ok(cpu.ports?.some((p) => /:8080'?$/.test(p)))
  t.ok('dinov3-models' in compose.volumes)
})

t.test('the GPU service is in the gpu profile and reserves an NVIDIA GPU', async (t) => {
  const gpu = services['dinov3-gpu']
  t.same(gpu.profiles, ['gpu'])
  t.equal(gpu.build?.target, 'gpu')
  t.equal(gpu.environment?.EXECUTION_PROVIDERS, 'cuda,cpu')
  const devices = gpu.deploy?.resources?.reservations?.devices ?? []
  t.equal(devices.length, 1)
  t.equal(devices[0].driver, 'nvidia')
  t.ok(devices[0].capabilities.includes('gpu'))
})

t.test('the scale profile runs replicas behind nginx, whose upstream is those replicas', async (t) => {
  const scaled = services['dinov3-scaled']
  t.same(scaled.profiles, ['scale'])
  t.match(String(scaled.deploy?.replicas), /^\$\{DINOV3_REPLICAS:-[2-9]\d*\}$/)
  t.equal(scaled.ports, undefined, 'replicas are reached only through the balancer')
  t.ok(scaled.environment?.INTRA_OP_THREADS, 'each replica is told its thread count')
  const lb = services.lb
  t.same(lb.profiles, ['scale'])
  t.match(lb.image, /^nginx:1\.(2[89]|[3-9]\d)/, 'an nginx with `server ... resolve` (1.27.3+)')
  t.ok(lb.volumes?.includes('./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro'))
  const nginx = readRepoFile('deploy/nginx/nginx.conf')
  t.match(nginx, /server dinov3-scaled:8080 resolve/, 'the upstream is the scaled service')
  t.match(nginx, /least_conn;/)
})

t.test('Prometheus runs by default with the repository config, Grafana in its profile with provisioning', async (t) => {
  const prometheus = services.prometheus
  t.equal(prometheus.profiles, undefined)
  t.ok(prometheus.volumes?.includes('./deploy/prometheus:/etc/prometheus:ro'))
  const grafana = services.grafana
  t.same(grafana.profiles, ['grafana'])
  t.ok(grafana.volumes?.includes('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro'))
  const provider = readYaml('deploy/grafana/provisioning/dashboards/dinov3.yml').providers[0]
  const dashboards = grafana.volumes?.find((v) => v.startsWith('./deploy/grafana/dashboards:'))
  t.equal(dashboards?.split(':')[1], provider.options.path, 'the dashboards folder is mounted where the provider looks')
  const datasource = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0]
  t.equal(datasource.url, 'http://prometheus:9090')
})

t.test('every file or folder the compose file mounts from the repository exists', async (t) => {
  const mounts = Object.values(services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'))
  t.ok(mounts.length >= 4)
  for (const mount of mounts) t.ok(existsSync(repoPath(mount.split(':')[0])), mount)
})

t.test('the model-pull tool runs the compiled pull script against the models volume, writable', async (t) => {
  const pull = services['model-pull']
  t.same(pull.profiles, ['tools'])
  t.same(pull.entrypoint?.slice(0, 2), ['node', 'dist/scripts/pull-model.js'])
  t.ok(existsSync(repoPath('scripts/pull-model.ts')), 'scripts/pull-model.ts compiles to dist/scripts/pull-model.js')
  t.ok(pull.volumes?.some((v) => /:\/models$/.test(v)), 'models mounted read-write')
})
