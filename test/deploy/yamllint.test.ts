import { readdirSync } from 'node:fs'
import t from 'tap'
import { hasTool, repoPath, run } from './deploy-helpers.js'

const yamllint = hasTool('yamllint')
const files = [
  'docker-compose.yml',
  'deploy/prometheus/prometheus.yml',
  'deploy/prometheus/alerts.yml',
  'deploy/grafana/provisioning/datasources/prometheus.yml',
  'deploy/grafana/provisioning/dashboards/dinov3.yml',
  ...readdirSync(repoPath('deploy/kubernetes'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/kubernetes/${f}`)
]
// yamllint's defaults, but documents need no `---`, lines may reach 120 and `on:`-style keys are not booleans.
const config = '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}'

t.test('yamllint (strict: warnings fail too) passes the deployment YAML', { skip: yamllint ? false : 'yamllint not found: apt-get install yamllint (Debian) to run this check' }, async (t) => {
  const result = await run('yamllint', ['--strict', '--format', 'parsable', '-d', config, ...files.map((f) => repoPath(f))])
  t.equal(result.code, 0, result.stdout + result.stderr)
})

t.test('yamllint is strict enough to catch a duplicated key', { skip: yamllint ? false : 'yamllint not found: apt-get install yamllint (Debian)' }, async (t) => {
  const result = await run('sh', ['-c', `printf 'a: 1\\na: 2\\n' | yamllint --strict -d '${config}' -`])
  t.not(result.code, 0)
  t.match(result.stdout, /duplication of key "a"/)
})
