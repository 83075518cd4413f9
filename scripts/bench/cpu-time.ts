import { readFileSync } from 'node:fs'

/** Linux reports CPU time in /proc in ticks of 1/100 s (USER_HZ), whatever the kernel's own tick. */
const TICKS_PER_SECOND = 100

function readOrUndefined (path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** User plus system CPU time of a process so far, in ms; NaN where /proc is not there. */
export function processCpuMs (pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`)
}

/**
 * CPU time of a process's main thread alone (a Node process's event loop) so far, in ms: from schedstat, in
 * nanoseconds, where the kernel keeps it (a millisecond a request is a few of /proc's 10 ms ticks in a short run),
 * else from its stat; NaN where /proc is not there.
 */
export function eventLoopCpuMs (pid: number): number {
  const schedstat = readOrUndefined(`/proc/${pid}/task/${pid}/schedstat`)
  if (schedstat !== undefined) return Number(schedstat.split(' ')[0]) / 1e6
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`)
}

function statCpuMs (path: string): number {
  const stat = readOrUndefined(path)
  if (stat === undefined) return NaN
  // The command name (field 2) may hold spaces; fields 14 and 15 (utime, stime) count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

export interface MachineCpu {
  busyTicks: number
  totalTicks: number
  cpus: number
}

/** The whole machine's CPU ticks so far, busy and in all, from /proc/stat; undefined where it is not there. */
export function machineCpu (): MachineCpu | undefined {
  const stat = readOrUndefined('/proc/stat')
  if (stat === undefined) return undefined
  const lines = stat.split('\n')
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle ones.
  const ticks = lines[0].trim().split(/\s+/).slice(1, 9).map(Number)
  const totalTicks = ticks.reduce((sum, t) => sum + t, 0)
  return { busyTicks: totalTicks - ticks[3] - ticks[4], totalTicks, cpus: lines.filter((l) => /^cpu\d/.test(l)).length }
}

/** CPU time of this process so far, in ms. */
export function ownCpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * Sums, over several measured windows, one process's CPU time per image and the cores busy machine-wide: what a
 * throughput ratio between two ways of running the same model is made of.
 */
export class CpuTally {
  private cpuMs = 0
  private images = 0
  private busyTicks = 0
  private totalTicks = 0
  private cpus = NaN

  constructor (private readonly readMachine: () => MachineCpu | undefined = machineCpu) {}

  /** `cpuMsNow` reads the process's CPU time; `imagesOf` counts the images the window did. */
  async measure<T>(cpuMsNow: () => number, work: () => Promise<T>, imagesOf: (result: T) => number): Promise<T> {
    const cpuBefore = cpuMsNow()
    const machineBefore = this.readMachine()
    const result = await work()
    const machineAfter = this.readMachine()
    this.cpuMs += cpuMsNow() - cpuBefore
    this.images += imagesOf(result)
    if (machineBefore !== undefined && machineAfter !== undefined) {
      this.busyTicks += machineAfter.busyTicks - machineBefore.busyTicks
      this.totalTicks += machineAfter.totalTicks - machineBefore.totalTicks
      this.cpus = machineAfter.cpus
    }
    return result
  }

  get msPerImage (): number {
    return this.cpuMs / this.images
  }

  /** Cores busy on average over the windows, from 0 to the machine's CPU count; NaN without /proc. */
  get busyCores (): number {
    return this.totalTicks === 0 ? NaN : this.busyTicks / this.totalTicks * this.cpus
  }

  get machineCpus (): number {
    return this.cpus
  }
}

/**
 * CPU time per image of the ceiling (the benchmark process, while only it runs) and of the service process, and the
 * cores busy machine-wide in each one's windows.
 */
export interface CpuComparison {
  ceilingMsPerImage: number
  serviceMsPerImage: number
  ceilingBusyCores: number
  serviceBusyCores: number
  cpus: number
  /**
   * The most the service could reach against the ceiling on these cores: every core busy at the service's CPU time
   * per image, over the ceiling's measured images per second.
   */
  ratioBound: number
}

export function compareCpu (ceiling: CpuTally, service: CpuTally, ceilingImagesPerSecond: number): CpuComparison {
  return {
    ceilingMsPerImage: ceiling.msPerImage,
    serviceMsPerImage: service.msPerImage,
    ceilingBusyCores: ceiling.busyCores,
    serviceBusyCores: service.busyCores,
    cpus: service.machineCpus,
    ratioBound: (service.machineCpus * 1000 / service.msPerImage) / ceilingImagesPerSecond
  }
}
