import t from 'tap'
import { usableCores } from '../src/usable-cores.js'

const files = (entries: Record<string, string>) => (path: string): string | undefined => entries[path]

t.test('a container CPU quota caps the thread count; no quota leaves the CPUs', async (t) => {
  t.equal(usableCores(files({}), 16), 16, 'no cgroup files')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 16), 16, 'v2 without a quota')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }), 16), 2, 'v2: 2 CPUs')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }), 16), 2, 'v2: 1.5 CPUs rounds up')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' }), 16), 1, 'never below one')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu.max': '800000 100000\n' }), 4), 4, 'never above the CPUs')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }), 16), 3, 'v1')
  t.equal(usableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }), 16), 16, 'v1 unlimited')
})
