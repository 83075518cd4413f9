import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

type ReadFile = (path: string) => string | undefined

const readIfPresent: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The cores this process may really use: the CPUs it can run on, capped by a container's CPU quota (cgroup v2
 * `cpu.max`, or v1 `cpu.cfs_quota_us`), which availableParallelism() does not see. Giving ONNX Runtime more threads
 * than the quota allows makes its parallel sections wait on throttled threads.
 */
export function usableCores (read: ReadFile = readIfPresent, cpus = availableParallelism()): number {
  const quota = cgroupQuota(read)
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.ceil(quota)))
}

function cgroupQuota (read: ReadFile): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/)
  if (v2 !== undefined) {
    const [quota, period] = v2
    return quota === 'max' || period === undefined ? undefined : Number(quota) / Number(period)
  }
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'))
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'))
  return quota > 0 && period > 0 ? quota / period : undefined
}
