import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml'
import { loadConfig } from '../../src/config.js'
import { hubSettingsFromEnv, isValidRepoId, repoFolderName } from '../../src/hub/hub-settings.js'
import { startApp } from '../helpers/app.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { hasTool, promqlReferences, readRepoFile, readYaml, repoPath, run, toolVersion } from './deploy-helpers.js'
import { exposition } from './exposition.js'
import { schemaProblems } from './kubernetes-schema.js'
import { kustomize, strategicMerge, unlistedFiles, type Manifest } from './kustomize-lite.js'

const dirs = {
  base: 'deploy/kubernetes/base',
  gpu: 'deploy/kubernetes/overlays/gpu',
  adapter: 'deploy/kubernetes/prometheus-adapter',
  serviceMonitor: 'deploy/kubernetes/servicemonitor'
}
const rendered = Object.fromEntries(Object.entries(dirs).map(([name, dir]) => [name, kustomize(dir)])) as Record<keyof typeof dirs, Manifest[]>
/** The two ways to run the service: CPU replicas (base) and GPU replicas (overlay). */
const variants = [['base', rendered.base], ['gpu overlay', rendered.gpu]] as const

function one (manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`)
  return found[0]
}

interface EnvVar { name: string, value?: string, valueFrom?: unknown }
const serverContainer = (manifests: Manifest[]): any => one(manifests, 'Deployment').spec.template.spec.containers[0]
const envOf = (container: { env?: EnvVar[] }): Record<string, string> =>
  Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]))
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

/** Kubernetes quantities as numbers: CPU in cores, memory in bytes. */
function quantity (value: string | number): number {
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(value))
  if (match === null) throw new Error(`not a quantity: ${value}`)
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }
  return Number(match[1]) * (match[2] === undefined ? 1 : scale[match[2]])
}

t.test('each kustomization names every YAML file in its folder and renders the expected objects', async (t) => {
  for (const dir of Object.values(dirs)) t.same(unlistedFiles(dir), [], `${dir}: every file is a resource or a patch`)
  const kinds = (manifests: Manifest[]): string[] => manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()
  const app = ['Deployment/dinov3', 'HorizontalPodAutoscaler/dinov3', 'Job/dinov3-model-pull', 'PersistentVolumeClaim/dinov3-models',
    'PodDisruptionBudget/dinov3', 'Service/dinov3']
  t.same(kinds(rendered.base), app)
  t.same(kinds(rendered.gpu), app)
  t.same(kinds(rendered.adapter), ['ConfigMap/dinov3-adapter-rules'])
  t.same(kinds(rendered.serviceMonitor), ['ServiceMonitor/dinov3'])
})

t.test('every object validates against the Kubernetes API schema, with no unknown field', async (t) => {
  for (const [name, manifests] of Object.entries(rendered)) {
    for (const manifest of manifests) t.same(await schemaProblems(manifest), [], `${name}: ${manifest.kind} ${manifest.metadata.name}`)
  }
})

t.test('the schema check fails on broken manifests (the validator is live)', async (t) => {
  const deployment = one(rendered.base, 'Deployment')
  const broken = (change: (m: any) => void, of: Manifest = deployment): Manifest => { const copy = structuredClone(of); change(copy); return copy }
  t.match(await schemaProblems(broken((m) => { m.spec.replicas = 'two' })), [/spec\/replicas must be integer/])
  t.match(await schemaProblems(broken((m) => { delete m.spec.template.spec.containers[0].name })), [/containers\/0 must have required property '?name/])
  t.match(await schemaProblems(broken((m) => { delete m.spec.selector })), [/must have required property '?selector/])
  t.match(await schemaProblems(broken((m) => { m.spec.template.spec.containers[0].ports[0].containerPort = '8080' })), [/containerPort must be integer/])
  t.same(await schemaProblems(broken((m) => { m.spec.template.spec.containers[0].readinessprobe = m.spec.template.spec.containers[0].readinessProbe })),
    ['unknown field /spec/template/spec/containers/0/readinessprobe'], 'a misspelt field is an unknown field')
  t.same(await schemaProblems(broken((m) => { m.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'] = 1 })), [],
    'resource names are map keys, not fields')
  const hpa = one(rendered.base, 'HorizontalPodAutoscaler')
  t.match(await schemaProblems(broken((m) => { m.spec.metrics[0].pods.target = 8 }, hpa)), [/target must be object/])
  t.match(await schemaProblems(broken((m) => { m.spec.metrics[0].pods.metric.nmae = m.spec.metrics[0].pods.metric.name; delete m.spec.metrics[0].pods.metric.name }, hpa)),
    [/must have required property '?name/])
  t.match(await schemaProblems(broken((m) => { m.apiVersion = 'autoscaling/v3' }, hpa)), [/no schema for autoscaling\/v3/])
  const monitor = one(rendered.serviceMonitor, 'ServiceMonitor')
  t.match(await schemaProblems(broken((m) => { m.spec.endpoints = 'http' }, monitor)), [/endpoints must be array/])
})

const kubectlVersion = toolVersion('kubectl', ['version', '--client'])
const kustomizeMajor = Number(/Kustomize Version: v(\d+)/.exec(kubectlVersion ?? '')?.[1] ?? 0)

t.test('kubectl kustomize renders the same objects as the test\'s renderer', {
  skip: kustomizeMajor >= 4 ? false : 'kubectl with kustomize v4 or later not found (kubectl 1.21+, e.g. from the Kubernetes apt repository): the manifests are still rendered and validated above'
}, async (t) => {
  for (const [name, dir] of Object.entries(dirs)) {
    const result = await run('kubectl', ['kustomize', repoPath(dir)])
    t.equal(result.code, 0, result.stderr)
    const byName = (manifests: Manifest[]): Map<string, Manifest> => new Map(manifests.map((m) => [`${m.kind}/${m.metadata.name}`, m]))
    const theirs = byName(parseAllDocuments(result.stdout).map((d) => d.toJS() as Manifest))
    const ours = byName(rendered[name as keyof typeof dirs])
    t.same([...theirs.keys()].sort(), [...ours.keys()].sort(), `${dir}: same objects`)
    for (const [key, manifest] of ours) t.strictSame(theirs.get(key), manifest, `${dir}: ${key}`)
  }
})

t.test('the strategic merge keeps keyed lists merged and replaces the others', async (t) => {
  const base = { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }], args: ['p', 'q'] }, { name: 'b' }], tolerations: [{ key: 'k' }] }
  const patch = { containers: [{ name: 'a', env: [{ name: 'Y', value: '3' }], args: ['r'] }], tolerations: [{ key: 'g' }] }
  t.strictSame(strategicMerge(base, patch), {
    containers: [{ name: 'a', env: [{ name: 'Y', value: '3' }, { name: 'X', value: '1' }], args: ['r'] }, { name: 'b' }],
    tolerations: [{ key: 'g' }]
  })
})

t.test('selectors: the Deployment owns its pods, the Service and the PDB select them and never the pull Job\'s pod', async (t) => {
  for (const [name, manifests] of variants) {
    const deployment = one(manifests, 'Deployment')
    const podLabels = deployment.spec.template.metadata.labels
    const jobLabels = one(manifests, 'Job').spec.template.metadata.labels
    t.ok(matches(deployment.spec.selector.matchLabels, podLabels), `${name}: Deployment selector matches its template`)
    for (const kind of ['Service', 'PodDisruptionBudget']) {
      const selector = kind === 'Service' ? one(manifests, kind).spec.selector : one(manifests, kind).spec.selector.matchLabels
      t.ok(Object.keys(selector).length > 0 && matches(selector, podLabels), `${name}: ${kind} selects the server pods`)
      t.notOk(matches(selector, jobLabels), `${name}: ${kind} does not select the pull Job's pod`)
    }
    t.same(one(manifests, 'HorizontalPodAutoscaler').spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name })
  }
  const service = one(rendered.base, 'Service')
  const monitor = one(rendered.serviceMonitor, 'ServiceMonitor')
  t.ok(matches(monitor.spec.selector.matchLabels, service.metadata.labels), 'the ServiceMonitor selects the Service')
  const servicePorts = service.spec.ports.map((p: { name: string }) => p.name)
  for (const endpoint of monitor.spec.endpoints) t.ok(servicePorts.includes(endpoint.port), `ServiceMonitor endpoint port ${endpoint.port} is a Service port`)
})

t.test('ports: PORT, the container port, the Service\'s target, the probes and the scrape annotations agree', async (t) => {
  for (const [name, manifests] of variants) {
    const container = serverContainer(manifests)
    const config = loadConfig(envOf(container))
    const ports = new Map<string, number>(container.ports.map((p: { name: string, containerPort: number }) => [p.name, p.containerPort]))
    t.same([...ports.values()], [config.port], `${name}: the one container port is PORT (${config.port})`)
    t.ok(ports.has(one(manifests, 'Service').spec.ports[0].targetPort), `${name}: the Service targets a named container port`)
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      t.equal(ports.get(container[probe].httpGet.port), config.port, `${name}: ${probe} asks the container port`)
    }
    const annotations = one(manifests, 'Deployment').spec.template.metadata.annotations
    t.equal(Number(annotations['prometheus.io/port']), config.port, `${name}: scraped on PORT`)
    t.equal(annotations['prometheus.io/scrape'], 'true')
    t.equal(container.command, undefined, `${name}: the image's own CMD runs the server (node dist/src/server.js)`)
  }
})

t.test('probe and scrape paths are the app\'s: liveness on /health/live, startup and readiness on /health/ready', async (t) => {
  const container = serverContainer(rendered.base)
  t.equal(container.livenessProbe.httpGet.path, '/health/live')
  t.equal(container.readinessProbe.httpGet.path, '/health/ready')
  t.equal(container.startupProbe.httpGet.path, '/health/ready', 'the startup probe waits for the model to load and warm up')
  t.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 300, 'at least 5 minutes for a model load')
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const paths = new Set([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path, container.startupProbe.httpGet.path,
    one(rendered.base, 'Deployment').spec.template.metadata.annotations['prometheus.io/path'],
    ...one(rendered.serviceMonitor, 'ServiceMonitor').spec.endpoints.map((e: { path: string }) => e.path)])
  for (const path of paths) {
    const response = await app.inject({ method: 'GET', url: path })
    t.equal(response.statusCode, 200, `GET ${path} answers 200 on a loaded app`)
  }
  const unknown = await app.inject({ method: 'GET', url: '/health/nope' })
  t.equal(unknown.statusCode, 404, 'an unknown path would have been caught')
})

const configSource = readRepoFile('src/config.ts')
const configVariables = new Set([...configSource.matchAll(/read\.\w+\('([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]))
const readmeConfiguration = readRepoFile('README.md').split('## Configuration')[1].split('\n## ')[0]
const documentedVariables = new Set(readmeConfiguration.split('\n').filter((l) => l.startsWith('| `'))
  .flatMap((line) => [...line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])))

t.test('every variable the Deployment sets is a configuration variable of src/config.ts and the README, with a valid value', async (t) => {
  t.ok(configVariables.size >= 20 && configVariables.has('MAX_CONCURRENT_REQUESTS'), `${configVariables.size} variables read in src/config.ts`)
  t.ok(documentedVariables.has('SHUTDOWN_GRACE_MS') && documentedVariables.has('PORT'), 'the README table is read')
  for (const [name, manifests] of variants) {
    const container = serverContainer(manifests)
    const names = (container.env as EnvVar[]).map((e) => e.name)
    t.equal(new Set(names).size, names.length, `${name}: no variable set twice`)
    for (const variable of names) {
      t.ok(configVariables.has(variable), `${name}: ${variable} is read by src/config.ts`)
      t.ok(documentedVariables.has(variable), `${name}: ${variable} is in the README's configuration table`)
    }
    for (const required of ['MODEL', 'MODELS_DIR', 'EXECUTION_PROVIDERS', 'INTRA_OP_THREADS', 'MAX_BATCH_SIZE', 'MAX_CONCURRENT_REQUESTS', 'SHUTDOWN_GRACE_MS', 'PORT']) {
      t.ok(names.includes(required), `${name}: sets ${required}`)
    }
    t.doesNotThrow(() => loadConfig(envOf(container)), `${name}: the values pass the service's own validation`)
  }
  const cpu = loadConfig(envOf(serverContainer(rendered.base)))
  t.same(cpu.executionProviders, ['cpu'])
  const gpu = loadConfig(envOf(serverContainer(rendered.gpu)))
  t.same(gpu.executionProviders, ['cuda', 'cpu'], 'the GPU replica falls back to CPU rather than refusing to start')
  t.ok(gpu.maxBatchSize > cpu.maxBatchSize, 'the GPU replica batches more')
})

t.test('resources: requests within limits, INTRA_OP_THREADS the CPU given, one GPU per GPU replica', async (t) => {
  for (const [name, manifests] of variants) {
    const container = serverContainer(manifests)
    const { requests, limits } = container.resources
    for (const resource of ['cpu', 'memory']) t.ok(quantity(requests[resource]) <= quantity(limits[resource]), `${name}: ${resource} request within its limit`)
    t.equal(loadConfig(envOf(container)).intraOpThreads, quantity(limits.cpu), `${name}: inference threads = CPU limit`)
    // BENCHMARKS.md: a ViT-S/16 replica peaked at 754 MiB on a tiled 4096x4096 request (548 on an earlier host).
    t.ok(quantity(requests.memory) >= 754 * 2 ** 20, `${name}: the memory request covers the measured ViT-S peak`)
  }
  t.equal(serverContainer(rendered.base).resources.limits['nvidia.com/gpu'], undefined)
  t.equal(serverContainer(rendered.gpu).resources.limits['nvidia.com/gpu'], 1)
  t.match(serverContainer(rendered.gpu).image, /:gpu$/)
  t.ok(one(rendered.gpu, 'Deployment').spec.template.spec.tolerations.some((toleration: { key: string }) => toleration.key === 'nvidia.com/gpu'), 'tolerates the GPU taint')
})

t.test('the images and the user are the Dockerfile\'s and the compose file\'s', async (t) => {
  const compose = readYaml('docker-compose.yml').services as Record<string, { image: string }>
  t.equal(serverContainer(rendered.base).image, compose.dinov3.image)
  t.equal(serverContainer(rendered.gpu).image, compose['dinov3-gpu'].image)
  t.equal(one(rendered.base, 'Job').spec.template.spec.containers[0].image, compose['model-pull'].image)
  const dockerfile = readRepoFile('Dockerfile')
  for (const target of ['cpu', 'gpu']) t.match(dockerfile, new RegExp(`^FROM \\S+ AS ${target}$`, 'm'), `the Dockerfile builds ${target}`)
  const users = [...dockerfile.matchAll(/^USER (\d+):(\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])])
  t.same(users, [[1000, 1000], [1000, 1000]])
  for (const [name, manifests] of variants) {
    for (const kind of ['Deployment', 'Job']) {
      const pod = one(manifests, kind).spec.template.spec
      t.same([pod.securityContext.runAsUser, pod.securityContext.runAsGroup], users[0], `${name}: ${kind} runs as the image's user`)
      t.equal(pod.securityContext.runAsNonRoot, true)
      t.equal(pod.enableServiceLinks, false, `${name}: ${kind} gets no Service variables`)
    }
  }
})

t.test('the model volume: the Job writes it where the Deployment reads it, read-only, and MODEL is the folder it pulls', async (t) => {
  const compose = readYaml('docker-compose.yml').services as Record<string, { entrypoint: string[] }>
  for (const [name, manifests] of variants) {
    const pvc = one(manifests, 'PersistentVolumeClaim')
    t.ok(pvc.spec.accessModes.includes('ReadWriteMany'), `${name}: replicas on any node can mount the models`)
    const deployment = one(manifests, 'Deployment').spec.template.spec
    const job = one(manifests, 'Job').spec.template.spec
    const volume = (pod: any): any => pod.volumes.find((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim !== undefined)
    const mount = (pod: any): any => pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume(pod).name)
    t.equal(volume(deployment).persistentVolumeClaim.claimName, pvc.metadata.name)
    t.equal(volume(job).persistentVolumeClaim.claimName, pvc.metadata.name)
    t.equal(volume(deployment).persistentVolumeClaim.readOnly, true, `${name}: the claim is mounted read-only by the server`)
    t.equal(mount(deployment).readOnly, true)
    t.not(mount(job).readOnly, true, 'the Job writes')
    const env = envOf(deployment.containers[0])
    t.equal(mount(deployment).mountPath, env.MODELS_DIR, 'mounted at MODELS_DIR')
    const pull = job.containers[0]
    const command = [...pull.command, ...pull.args]
    t.same(pull.command, compose['model-pull'].entrypoint, 'the same command as the compose model-pull service')
    const dir = command[command.indexOf('--dir') + 1]
    t.equal(dir, mount(job).mountPath, 'pulls into the volume')
    t.equal(dir, env.MODELS_DIR)
    const hubId = pull.args.find((a: string) => a.includes('/')) as string
    t.ok(isValidRepoId(hubId), hubId)
    t.equal(repoFolderName(hubId), env.MODEL, 'MODEL names the folder the Job pulls into')
    t.equal(command[command.indexOf('--variant') + 1], env.MODEL_VARIANT, 'and the variant the server loads')
  }
  const job = one(rendered.base, 'Job')
  t.equal(job.spec.template.spec.restartPolicy, 'Never', 'podFailurePolicy needs restartPolicy Never')
  t.same(job.spec.podFailurePolicy.rules[0].onExitCodes.values, [2], 'a bad command line (exit 2) is not retried')
  const pullEnv = job.spec.template.spec.containers[0].env as EnvVar[]
  t.same(pullEnv.map((e) => e.name).sort(), ['HF_ENDPOINT', 'HF_TOKEN'])
  t.equal(hubSettingsFromEnv(envOf({ env: pullEnv })).endpoint, 'https://huggingface.co', 'the pull reads HF_ENDPOINT')
  t.match(readRepoFile('src/hub/hub-settings.ts'), /env\.HF_TOKEN/, 'and HF_TOKEN')
})

t.test('the pull Job\'s command line is accepted by scripts/pull-model.ts (compiled to dist/scripts/pull-model.js)', async (t) => {
  t.match(readRepoFile('tsconfig.build.json'), /"scripts"/, 'the build compiles scripts/ next to src/')
  const pull = one(rendered.base, 'Job').spec.template.spec.containers[0]
  t.equal(pull.command[1], 'dist/scripts/pull-model.js')
  // An endpoint that refuses connections: past the command line the pull fails (1), a bad command line is 2.
  const env = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' }
  const dir = scratchDir(t)
  const args = (extra: string[]): string[] => ['tsx', 'scripts/pull-model.ts', ...pull.command.slice(2).map((a: string) => a === '/models' ? dir : a), ...extra]
  const accepted = await run('npx', args(pull.args), { env, timeoutMs: 120_000 })
  t.equal(accepted.code, 1, accepted.stderr)
  t.match(accepted.stderr, `pulling ${pull.args[0]} (${pull.args[2]}, main) from http://127.0.0.1:9`)
  const refused = await run('npx', args([...pull.args, '--varient', 'fp16']), { env, timeoutMs: 120_000 })
  t.equal(refused.code, 2, 'a misspelt option is a command-line error')
})

t.test('graceful shutdown fits in the termination grace period', async (t) => {
  for (const [name, manifests] of variants) {
    const pod = one(manifests, 'Deployment').spec.template.spec
    const container = pod.containers[0]
    const [sleep, seconds] = container.lifecycle.preStop.exec.command
    t.equal(sleep, 'sleep')
    const preStop = Number(seconds)
    t.ok(preStop >= 2 && preStop <= 15, `${name}: preStop waits ${preStop} s for the endpoints to drop the pod`)
    const grace = loadConfig(envOf(container)).shutdownGraceMs / 1000
    t.ok(pod.terminationGracePeriodSeconds >= preStop + grace + 5,
      `${name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} >= preStop ${preStop} + SHUTDOWN_GRACE_MS ${grace} s + 5 s to close`)
    const probe = container.readinessProbe
    t.ok(probe.periodSeconds * probe.failureThreshold <= preStop + grace, `${name}: readiness notices a shutdown before it ends`)
  }
  t.equal(one(rendered.base, 'Deployment').spec.strategy.rollingUpdate.maxUnavailable, 0, 'rollouts keep every replica until its successor is ready')
  t.equal(one(rendered.base, 'PodDisruptionBudget').spec.maxUnavailable, 1)
})

interface AdapterRule { seriesQuery: string, resources: { overrides: Record<string, { resource: string }> }, name: { matches: string, as?: string }, metricsQuery: string }
const adapterConfig = parseYaml(one(rendered.adapter, 'ConfigMap').data['config.yaml']) as { rules: AdapterRule[] }
/** The custom metric a rule serves: its series name through `name.matches`/`as`, as prometheus-adapter names it. */
const servedName = (rule: AdapterRule): string => {
  const series = promqlReferences(rule.seriesQuery).selectors[0].metric
  return rule.name.as === undefined ? series : series.replace(new RegExp(rule.name.matches), rule.name.as)
}
/** Labels Prometheus' Kubernetes discovery (ServiceMonitor, kubernetes-pods job) puts on every scraped series. */
const kubernetesLabels = ['namespace', 'pod']

t.test('the HPA scales on the queue and in-flight metrics, which the adapter serves from real series of /metrics', async (t) => {
  const samples = await exposition(t)
  t.ok(adapterConfig.rules.length >= 2)
  for (const rule of adapterConfig.rules) {
    const { selectors } = promqlReferences(rule.seriesQuery)
    t.equal(selectors.length, 1, `${rule.seriesQuery} selects one metric`)
    const { metric, labels } = selectors[0]
    t.ok(samples.has(metric), `${metric} is exported by the service`)
    for (const label of labels) t.ok(kubernetesLabels.includes(label) || samples.get(metric)?.has(label), `${metric}: label ${label} exists`)
    t.same(Object.keys(rule.resources.overrides).sort(), kubernetesLabels, 'namespace and pod map to their resources')
    t.equal(rule.resources.overrides.pod.resource, 'pod')
    t.match(rule.metricsQuery, /<<\.Series>>\{<<\.LabelMatchers>>\}/)
    t.match(rule.metricsQuery, /by \(<<\.GroupBy>>\)/, 'one value per pod')
  }
  const served = new Set(adapterConfig.rules.map(servedName))
  for (const [name, manifests] of variants) {
    const hpa = one(manifests, 'HorizontalPodAutoscaler')
    t.equal(hpa.apiVersion, 'autoscaling/v2')
    const targets = new Map<string, number>(hpa.spec.metrics.map((m: any) => {
      t.equal(m.type, 'Pods', `${name}: per-pod metrics, not CPU`)
      t.equal(m.pods.target.type, 'AverageValue')
      return [m.pods.metric.name, quantity(m.pods.target.averageValue)]
    }))
    t.same([...targets.keys()].sort(), ['dinov3_queue_depth', 'dinov3_requests_in_flight'], `${name}: the two signals docs/deployment.md argues for`)
    for (const metric of targets.keys()) t.ok(served.has(metric), `${name}: prometheus-adapter serves ${metric}`)
    const config = loadConfig(envOf(serverContainer(manifests)))
    t.equal(targets.get('dinov3_queue_depth'), config.maxBatchSize, `${name}: queue target = MAX_BATCH_SIZE (${config.maxBatchSize})`)
    t.equal(targets.get('dinov3_requests_in_flight'), config.maxConcurrentRequests / 2, `${name}: in-flight target = MAX_CONCURRENT_REQUESTS / 2`)
    t.ok(hpa.spec.minReplicas >= 2, `${name}: a PDB of maxUnavailable 1 leaves a replica`)
    const replicas = one(manifests, 'Deployment').spec.replicas
    t.ok(replicas >= hpa.spec.minReplicas && replicas <= hpa.spec.maxReplicas, `${name}: the initial replicas are within the HPA's range`)
    t.ok(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds >= 300, `${name}: scales in slowly`)
  }
})

t.test('the adapter\'s metricsQuery, as the adapter renders it, gives one smoothed value per pod (promtool test rules)', {
  skip: hasTool('promtool') ? false : 'promtool not found: apt-get install prometheus (Debian) to run this check'
}, async (t) => {
  const dir = scratchDir(t)
  const queries = adapterConfig.rules.map((rule) => {
    const metric = promqlReferences(rule.seriesQuery).selectors[0].metric
    const expr = rule.metricsQuery
      .replaceAll('<<.Series>>', metric)
      .replaceAll('<<.LabelMatchers>>', 'namespace="dinov3",pod=~"dinov3-a|dinov3-b"')
      .replaceAll('<<.GroupBy>>', 'pod')
    t.notMatch(expr, /<</, 'every template is filled')
    return expr
  })
  // Pod a steady at 4, pod b alternating 0 and 16 every scrape, a pod of another namespace that must not count.
  const series = (metric: string, namespace: string, pod: string, values: string): { series: string, values: string } =>
    ({ series: `${metric}{job="dinov3", namespace="${namespace}", pod="${pod}", instance="10.0.0.1:8080"}`, values })
  const tests = {
    rule_files: [],
    tests: [{
      interval: '15s',
      input_series: adapterConfig.rules.flatMap((rule) => {
        const metric = promqlReferences(rule.seriesQuery).selectors[0].metric
        return [series(metric, 'dinov3', 'dinov3-a', '4x40'), series(metric, 'dinov3', 'dinov3-b', '0 16 0 16 0 16 0 16 0 16 0 16 0 16 0 16 0 16 0 16'),
          series(metric, 'other', 'dinov3-a', '100x40')]
      }),
      promql_expr_test: queries.map((expr) => ({
        expr,
        // Between scrapes, so that the minute holds 4 samples whether its start is open (Prometheus 3) or closed (2.x).
        eval_time: '4m5s',
        exp_samples: [{ labels: '{pod="dinov3-a"}', value: 4 }, { labels: '{pod="dinov3-b"}', value: 8 }]
      }))
    }]
  }
  writeFileSync(join(dir, 'tests.yml'), stringify(tests))
  const result = await run('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir })
  t.equal(result.code, 0, result.stdout + result.stderr)
})

t.test('the adapter rules and the YAML embedded in the ConfigMap pass yamllint', { skip: hasTool('yamllint') ? false : 'yamllint not found: apt-get install yamllint (Debian)' }, async (t) => {
  const dir = scratchDir(t)
  const file = join(dir, 'config.yaml')
  writeFileSync(file, one(rendered.adapter, 'ConfigMap').data['config.yaml'])
  const config = '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}'
  const result = await run('yamllint', ['--strict', '--format', 'parsable', '-d', config, file])
  t.equal(result.code, 0, result.stdout + result.stderr)
})

t.test('docs/deployment.md tells the manifests\' numbers as they are', async (t) => {
  // Whitespace collapsed, so that rewrapping the prose does not matter.
  const section = readRepoFile('docs/deployment.md').split('\n## Kubernetes\n')[1].split('\n## ')[0].replace(/\s+/g, ' ')
  const target = (manifests: Manifest[], metric: string): string =>
    one(manifests, 'HorizontalPodAutoscaler').spec.metrics.find((m: any) => m.pods.metric.name === metric).pods.target.averageValue
  for (const metric of ['dinov3_queue_depth', 'dinov3_requests_in_flight']) {
    t.match(section, `| \`${metric}\` | ${target(rendered.base, metric)} | ${target(rendered.gpu, metric)} |`, `the targets of ${metric}`)
  }
  const hpa = (manifests: Manifest[]): any => one(manifests, 'HorizontalPodAutoscaler').spec
  t.match(section, `Replicas go from ${hpa(rendered.base).minReplicas} to ${hpa(rendered.base).maxReplicas} (${hpa(rendered.gpu).maxReplicas} with GPUs)`)
  t.match(section, `after a ${hpa(rendered.base).behavior.scaleDown.stabilizationWindowSeconds / 60}-minute stabilisation window`)
  const startup = (manifests: Manifest[]): any => serverContainer(manifests).startupProbe
  t.match(section, `up to ${startup(rendered.base).periodSeconds * startup(rendered.base).failureThreshold / 60} minutes to load and warm up`)
  t.match(section, `\`failureThreshold: ${startup(rendered.base).failureThreshold}\` × ${startup(rendered.base).periodSeconds} s; ` +
    `${startup(rendered.gpu).periodSeconds * startup(rendered.gpu).failureThreshold / 60} minutes in the GPU overlay`)
  const pod = one(rendered.base, 'Deployment').spec.template.spec
  t.match(section, `\`terminationGracePeriodSeconds: ${pod.terminationGracePeriodSeconds}\``)
  t.match(section, `a \`preStop\` sleep of ${pod.containers[0].lifecycle.preStop.exec.command[1]} s`)
  const { requests, limits } = pod.containers[0].resources
  t.match(section, `${limits.cpu} CPUs (request = limit) with \`INTRA_OP_THREADS=${envOf(pod.containers[0]).INTRA_OP_THREADS}\``)
  t.equal(requests.cpu, limits.cpu)
  t.match(section, `memory requests ${requests.memory.replace('Gi', ' GiB')}, limit ${limits.memory.replace('Gi', ' GiB')}`)
  const gpuEnv = envOf(serverContainer(rendered.gpu))
  t.match(section, `\`MAX_BATCH_SIZE=${gpuEnv.MAX_BATCH_SIZE}\` and \`MAX_CONCURRENT_REQUESTS=${gpuEnv.MAX_CONCURRENT_REQUESTS}\``)
  for (const name of (serverContainer(rendered.base).env as EnvVar[]).map((e) => e.name)) t.match(section, `\`${name}\``, `${name} is listed`)
})
