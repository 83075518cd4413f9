import t from 'tap'
import { promqlReferences, readRepoFile, readYaml, unknownReferences } from './deploy-helpers.js'
import { exposition } from './exposition.js'

interface Panel { id: number, type: string, title: string, gridPos?: object, datasource?: { uid?: string }, targets?: Array<{ expr?: string, datasource?: { uid?: string } }>, panels?: Panel[] }

const dashboard = JSON.parse(readRepoFile('deploy/grafana/dashboards/dinov3.json')) as { uid: string, panels: Panel[], templating: { list: Array<{ query: { query: string } | string, datasource?: { uid?: string } }> } }
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
const dashboardExprs = panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, expr: target.expr ?? '' })))
const alertRules = (readYaml('deploy/prometheus/alerts.yml').groups as Array<{ rules: Array<{ alert: string, expr: string }> }>).flatMap((g) => g.rules)

t.test('the PromQL reader finds metrics, matcher labels and grouping labels', async (t) => {
  const refs = promqlReferences('histogram_quantile(0.95, sum by (le, route) (rate(foo_bucket{route=~"/a|/b", job=~"$job"}[$__rate_interval]))) > 0.5 and on (job) bar')
  t.same(refs.selectors, [{ metric: 'foo_bucket', labels: ['route', 'job'] }, { metric: 'bar', labels: [] }])
  t.same(refs.groupingLabels, ['le', 'route', 'job'])
  const samples = new Map([['foo_bucket', new Set(['route', 'le'])], ['bar', new Set<string>()]])
  t.same(unknownReferences('sum by (route) (rate(foo_bucket{route="/a"}[5m]))', samples), [])
  t.same(unknownReferences('rate(fooo_bucket[5m])', samples), ['metric fooo_bucket is not exported by the service'])
  t.same(unknownReferences('foo_bucket{stauts="200"}', samples), ['foo_bucket has no label stauts'])
  t.match(unknownReferences('sum by (rout) (foo_bucket)', samples), [/grouping label rout/])
})

t.test('every metric and label the alert rules use is in the service\'s /metrics', async (t) => {
  const samples = await exposition(t)
  t.ok(alertRules.length >= 5, `${alertRules.length} alert rules`)
  for (const rule of alertRules) {
    t.same(unknownReferences(rule.expr, samples), [], rule.alert)
    t.ok(promqlReferences(rule.expr).selectors.length > 0, `${rule.alert} selects something`)
  }
})

t.test('every metric and label the Grafana dashboard uses is in the service\'s /metrics', async (t) => {
  const samples = await exposition(t)
  t.ok(dashboardExprs.length >= 15, `${dashboardExprs.length} queries`)
  for (const { panel, expr } of dashboardExprs) {
    t.not(expr.trim(), '', `${panel} has a query`)
    t.same(unknownReferences(expr, samples), [], `${panel}: ${expr}`)
  }
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query
    const metric = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(query)?.[1]
    t.ok(metric !== undefined && samples.has(metric), `variable query ${query} reads an exported metric`)
  }
})

t.test('the dashboard covers the main signals', async (t) => {
  const all = dashboardExprs.map((e) => e.expr).join('\n')
  for (const metric of ['dinov3_http_requests_total', 'dinov3_http_request_duration_seconds_bucket', 'dinov3_stage_duration_seconds_bucket',
    'dinov3_batch_size', 'dinov3_queue_depth', 'dinov3_requests_in_flight', 'dinov3_failures_total', 'dinov3_model_info',
    'dinov3_ready', 'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
    t.match(all, metric, `a panel shows ${metric}`)
  }
  for (const q of ['0.5', '0.95', '0.99']) t.match(all, `histogram_quantile(${q}, sum by (le, route) (rate(dinov3_http_request_duration_seconds_bucket`, `latency p${Number(q) * 100} by route`)
})

t.test('the dashboard is well formed and uses the provisioned datasource', async (t) => {
  const datasources = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml').datasources as Array<{ uid: string, type: string, url: string }>
  t.equal(datasources.length, 1)
  const uid = datasources[0].uid
  t.equal(datasources[0].type, 'prometheus')
  t.equal(dashboard.uid, 'dinov3-serve')
  const ids = panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const panel of panels) {
    t.ok(panel.gridPos, `${panel.title} has a position`)
    if (panel.type === 'row') continue
    t.equal(panel.datasource?.uid, uid, `${panel.title} uses datasource ${uid}`)
    for (const target of panel.targets ?? []) t.equal(target.datasource?.uid ?? panel.datasource?.uid, uid, `${panel.title} target datasource`)
  }
  for (const variable of dashboard.templating.list) t.equal(variable.datasource?.uid, uid)
})
