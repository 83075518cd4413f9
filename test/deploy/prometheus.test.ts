import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { scratchDir } from '../helpers/models.js'
import { hasTool, readYaml, repoPath, run } from './deploy-helpers.js'

const promtool = hasTool('promtool')
const skip = promtool ? false : 'promtool not found: apt-get install prometheus (Debian) to run this check'
const config = repoPath('deploy/prometheus/prometheus.yml')
const alerts = repoPath('deploy/prometheus/alerts.yml')

t.test('promtool check config accepts prometheus.yml and the rule files it names', { skip }, async (t) => {
  const result = await run('promtool', ['check', 'config', '--lint=all', '--lint-fatal', config])
  t.equal(result.code, 0, result.stdout + result.stderr)
  t.match(result.stdout + result.stderr, /SUCCESS: 1 rule files found/)
})

t.test('promtool check rules accepts alerts.yml', { skip }, async (t) => {
  const result = await run('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', alerts])
  t.equal(result.code, 0, result.stdout + result.stderr)
  t.notMatch(result.stdout + result.stderr, /WARNING|lint/i, 'no lint finding')
})

t.test('every dinov3-serve service of the compose file is scraped, on the port the service listens on', async (t) => {
  const jobs = readYaml('deploy/prometheus/prometheus.yml').scrape_configs as Array<{ job_name: string, static_configs?: Array<{ targets: string[] }>, dns_sd_configs?: Array<{ names: string[], port: number, type: string }> }>
  const compose = readYaml('docker-compose.yml').services as Record<string, { image?: string }>
  const services = Object.keys(compose).filter((name) => /^dinov3-serve:/.test(compose[name].image ?? '') && name !== 'model-pull')
  const scraped = new Map<string, string>()
  for (const job of jobs) {
    for (const target of job.static_configs?.flatMap((c) => c.targets) ?? []) scraped.set(target, job.job_name)
    for (const sd of job.dns_sd_configs ?? []) {
      t.equal(sd.type, 'A', `${job.job_name} resolves A records`)
      for (const name of sd.names) scraped.set(`${name}:${sd.port}`, job.job_name)
    }
  }
  t.same(services.sort(), ['dinov3', 'dinov3-gpu', 'dinov3-scaled'])
  for (const service of services) t.equal(scraped.get(`${service}:8080`), service, `${service} is scraped as job ${service}`)
})

/** Alert rule unit tests: synthetic series in, expected alerts (labels and rendered annotations) out. */
const instance = 'dinov3:8080'
const requests = (status: string, perMinute: number, route = '/embed'): { series: string, values: string } =>
  ({ series: `dinov3_http_requests_total{job="dinov3", instance="${instance}", route="${route}", method="POST", status="${status}"}`, values: `0+${perMinute}x20` })
const buckets = (name: string, labels: string, cumulativePerMinute: Record<string, number>): Array<{ series: string, values: string }> =>
  Object.entries(cumulativePerMinute).map(([le, n]) => ({ series: `${name}{job="dinov3", instance="${instance}", ${labels}, le="${le}"}`, values: `0+${n}x20` }))

const ruleTests = {
  rule_files: [alerts],
  evaluation_interval: '1m',
  tests: [
    {
      interval: '1m',
      input_series: [
        { series: `up{job="dinov3", instance="${instance}"}`, values: '1 1 0 0 0 0' },
        { series: 'up{job="dinov3-scaled", instance="10.0.0.3:8080"}', values: '1 1 1 1 1 1' }
      ],
      alert_rule_test: [{
        eval_time: '5m',
        alertname: 'DinoV3TargetDown',
        exp_alerts: [{
          exp_labels: { severity: 'critical', job: 'dinov3', instance },
          exp_annotations: { summary: `dinov3-serve ${instance} (dinov3) cannot be scraped`, description: 'The process is down or /metrics does not answer.' }
        }]
      }]
    },
    {
      interval: '1m',
      input_series: [
        { series: `dinov3_ready{job="dinov3", instance="${instance}"}`, values: '0x10' },
        { series: 'dinov3_ready{job="dinov3-scaled", instance="10.0.0.3:8080"}', values: '1x10' }
      ],
      alert_rule_test: [
        { eval_time: '3m', alertname: 'DinoV3NotReady', exp_alerts: [] },
        {
          eval_time: '6m',
          alertname: 'DinoV3NotReady',
          exp_alerts: [{
            exp_labels: { severity: 'critical', job: 'dinov3', instance },
            exp_annotations: { summary: `dinov3-serve ${instance} has not been ready for 5 minutes`, description: 'Look for "model loaded and warmed up" or the load error in the replica log.' }
          }]
        }
      ]
    },
    {
      interval: '1m',
      input_series: [
        { series: `dinov3_model_info{job="dinov3", instance="${instance}", name="synthetic-small-seed0", type="dinov3_vit", variant="fp32", provider="cpu", synthetic="true"}`, values: '1x5' },
        { series: 'dinov3_model_info{job="dinov3-gpu", instance="10.0.0.4:8080", name="vitb16", type="dinov3_vit", variant="fp16", provider="cpu", synthetic="false"}', values: '1x5' },
        { series: 'dinov3_model_info{job="dinov3-gpu", instance="10.0.0.5:8080", name="vitb16", type="dinov3_vit", variant="fp16", provider="cuda", synthetic="false"}', values: '1x5' }
      ],
      alert_rule_test: [
        {
          eval_time: '3m',
          alertname: 'DinoV3SyntheticModel',
          exp_alerts: [{
            exp_labels: { severity: 'critical', job: 'dinov3', instance, name: 'synthetic-small-seed0', type: 'dinov3_vit', variant: 'fp32', provider: 'cpu', synthetic: 'true' },
            exp_annotations: { summary: `dinov3-serve ${instance} serves a synthetic model with random weights`, description: 'Mount a model folder at MODELS_DIR (/models in the images) or set MODEL.' }
          }]
        },
        {
          eval_time: '3m',
          alertname: 'DinoV3GpuServiceOnCpu',
          exp_alerts: [{
            exp_labels: { severity: 'critical', job: 'dinov3-gpu', instance: '10.0.0.4:8080', name: 'vitb16', type: 'dinov3_vit', variant: 'fp16', provider: 'cpu', synthetic: 'false' },
            exp_annotations: { summary: 'dinov3-serve 10.0.0.4:8080 runs on cpu, not CUDA', description: 'Search its log for "execution provider cuda could not load".' }
          }]
        }
      ]
    },
    {
      // 6 of 60 inference requests a minute fail: 10%. The health checks' 503s must not count.
      interval: '1m',
      input_series: [requests('200', 54), requests('500', 6), requests('503', 600, '/health/ready')],
      alert_rule_test: [{
        eval_time: '10m',
        alertname: 'DinoV3High5xxRatio',
        exp_alerts: [{
          exp_labels: { severity: 'critical', job: 'dinov3' },
          exp_annotations: { summary: 'dinov3: 10% of requests fail with 5xx', description: 'See dinov3_failures_total by code and the replica logs.' }
        }]
      }, { eval_time: '10m', alertname: 'DinoV3Overloaded', exp_alerts: [] }]
    },
    {
      interval: '1m',
      input_series: [requests('200', 57), requests('429', 3)],
      alert_rule_test: [{
        eval_time: '10m',
        alertname: 'DinoV3Overloaded',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3' },
          exp_annotations: { summary: 'dinov3: 5% of requests refused with 429', description: 'Scale out, or raise MAX_CONCURRENT_REQUESTS if latency allows.' }
        }]
      }, { eval_time: '10m', alertname: 'DinoV3High5xxRatio', exp_alerts: [] }]
    },
    {
      interval: '1m',
      input_series: [
        { series: `dinov3_queue_depth{job="dinov3", instance="${instance}"}`, values: '40x20' },
        { series: `dinov3_requests_in_flight{job="dinov3", instance="${instance}"}`, values: '50x20' },
        { series: 'dinov3_queue_depth{job="dinov3-scaled", instance="10.0.0.3:8080"}', values: '3x20' },
        { series: 'dinov3_requests_in_flight{job="dinov3-scaled", instance="10.0.0.3:8080"}', values: '4x20' }
      ],
      alert_rule_test: [{
        eval_time: '12m',
        alertname: 'DinoV3QueueDepthHigh',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3', instance },
          exp_annotations: { summary: `dinov3-serve ${instance}: 40 images queued on average`, description: 'The backbone cannot keep up: scale out (or use a GPU replica).' }
        }]
      }, {
        eval_time: '12m',
        alertname: 'DinoV3InFlightNearLimit',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3', instance },
          exp_annotations: { summary: `dinov3-serve ${instance}: 50 requests in flight`, description: 'Close to MAX_CONCURRENT_REQUESTS: 429s follow. Scale out.' }
        }]
      }]
    },
    {
      // Every /embed answer takes 4 to 8 s: p95 interpolates to 7.8 s. Fast health checks do not count.
      interval: '1m',
      input_series: [
        ...buckets('dinov3_http_request_duration_seconds_bucket', 'route="/embed", method="POST", status="200"', { 1: 0, 4: 0, 8: 60, '+Inf': 60 }),
        ...buckets('dinov3_http_request_duration_seconds_bucket', 'route="/health/ready", method="GET", status="200"', { 1: 600, 4: 600, 8: 600, '+Inf': 600 }),
        ...buckets('dinov3_stage_duration_seconds_bucket', 'stage="queue"', { 1: 0, 2: 0, 4: 60, '+Inf': 60 })
      ],
      alert_rule_test: [{
        eval_time: '15m',
        alertname: 'DinoV3LatencyP95High',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3', route: '/embed' },
          exp_annotations: { summary: 'dinov3 /embed: p95 latency 7.8s', description: 'Compare dinov3_stage_duration_seconds by stage: queue time means too few replicas.' }
        }]
      }, {
        eval_time: '15m',
        alertname: 'DinoV3QueueWaitP95High',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3' },
          exp_annotations: { summary: 'dinov3: p95 queue wait 3.9s', description: 'Requests wait for the backbone: scale out.' }
        }]
      }]
    },
    {
      interval: '1m',
      input_series: [
        { series: `dinov3_failures_total{job="dinov3", instance="${instance}", code="internal"}`, values: '0+1x20' },
        { series: `dinov3_failures_total{job="dinov3", instance="${instance}", code="bad_request"}`, values: '0+100x20' }
      ],
      alert_rule_test: [{
        eval_time: '10m',
        alertname: 'DinoV3InternalErrors',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job: 'dinov3', instance },
          exp_annotations: { summary: `dinov3-serve ${instance}: 10 internal errors in 10 minutes`, description: 'Details are only in the replica log (the client sees a bare 500).' }
        }]
      }]
    },
    {
      // A healthy, busy replica: no alert at all.
      interval: '1m',
      input_series: [
        { series: `up{job="dinov3", instance="${instance}"}`, values: '1x30' },
        { series: `dinov3_ready{job="dinov3", instance="${instance}"}`, values: '1x30' },
        { series: `dinov3_model_info{job="dinov3", instance="${instance}", name="vits16", type="dinov3_vit", variant="fp32", provider="cpu", synthetic="false"}`, values: '1x30' },
        { series: `dinov3_queue_depth{job="dinov3", instance="${instance}"}`, values: '6x30' },
        { series: `dinov3_requests_in_flight{job="dinov3", instance="${instance}"}`, values: '12x30' },
        { series: `dinov3_failures_total{job="dinov3", instance="${instance}", code="internal"}`, values: '0x30' },
        requests('200', 600), requests('400', 5), requests('429', 1),
        ...buckets('dinov3_http_request_duration_seconds_bucket', 'route="/embed", method="POST", status="200"', { 0.1: 500, 1: 600, '+Inf': 600 }),
        ...buckets('dinov3_stage_duration_seconds_bucket', 'stage="queue"', { 0.1: 550, 1: 600, '+Inf': 600 })
      ],
      alert_rule_test: ['DinoV3TargetDown', 'DinoV3NotReady', 'DinoV3SyntheticModel', 'DinoV3GpuServiceOnCpu', 'DinoV3High5xxRatio', 'DinoV3Overloaded',
        'DinoV3QueueDepthHigh', 'DinoV3InFlightNearLimit', 'DinoV3LatencyP95High', 'DinoV3QueueWaitP95High', 'DinoV3InternalErrors']
        .map((alertname) => ({ eval_time: '20m', alertname, exp_alerts: [] }))
    }
  ]
}

t.test('the alert rules fire on the series they are for, with their annotations, and stay quiet on a healthy replica', { skip }, async (t) => {
  const dir = scratchDir(t)
  const file = join(dir, 'alerts.test.yml')
  writeFileSync(file, stringify(ruleTests))
  const result = await run('promtool', ['test', 'rules', file])
  t.equal(result.code, 0, result.stdout + result.stderr)
})

t.test('the rule unit tests cover every alert', async (t) => {
  const names = (readYaml('deploy/prometheus/alerts.yml').groups as Array<{ rules: Array<{ alert: string }> }>).flatMap((g) => g.rules.map((r) => r.alert))
  const fired = new Set(ruleTests.tests.flatMap((test) => test.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)))
  for (const name of names) t.ok(fired.has(name), `${name} is shown to fire`)
})
