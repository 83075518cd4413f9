import t from 'tap'
import { Worker } from 'node:worker_threads'
import { compareCpu, CpuTally, eventLoopCpuMs, machineCpu, type MachineCpu, ownCpuMs, processCpuMs } from '../../scripts/bench/cpu-time.js'

/** Busy work until this process has used `ms` of CPU (wall time would give less CPU on a loaded machine). */
const burn = (ms: number): void => {
  const end = ownCpuMs() + ms
  while (ownCpuMs() < end) for (let i = 0; i < 10_000; i++) Math.sqrt(Math.random())
}

/** Readers that return the given values in turn, as /proc and a process's clock would over a window. */
const readings = <T>(values: T[]): () => T => {
  let next = 0
  return () => values[next++]
}

const machine = (busyTicks: number, totalTicks: number): MachineCpu => ({ busyTicks, totalTicks, cpus: 2 })

t.test('processCpuMs reads a process\'s CPU time from /proc, as the process itself counts it', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const procBefore = processCpuMs(process.pid)
  const ownBefore = ownCpuMs()
  burn(300)
  const proc = processCpuMs(process.pid) - procBefore
  const own = ownCpuMs() - ownBefore
  // /proc counts in ticks of 10 ms.
  t.ok(proc >= 250, `300 ms of busy work counted: ${proc} ms`)
  t.ok(Math.abs(proc - own) <= 30, `/proc ${proc} ms against process.cpuUsage ${own.toFixed(1)} ms`)
  t.ok(Number.isNaN(processCpuMs(2 ** 30)), 'a process that does not exist: NaN, not a throw')
})

t.test('eventLoopCpuMs counts the main thread\'s CPU time, not the other threads\'', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  let loopBefore = eventLoopCpuMs(process.pid)
  burn(300)
  t.ok(eventLoopCpuMs(process.pid) - loopBefore >= 250, 'busy work on the main thread counted')

  // 300 ms of CPU on a worker thread while the main thread waits.
  const worker = new Worker("const end = process.cpuUsage().user + 300_000; while (process.cpuUsage().user < end) Math.sqrt(Math.random()); require('node:worker_threads').parentPort.postMessage(0)", { eval: true })
  loopBefore = eventLoopCpuMs(process.pid)
  const processBefore = processCpuMs(process.pid)
  await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await worker.terminate()
  const loop = eventLoopCpuMs(process.pid) - loopBefore
  const all = processCpuMs(process.pid) - processBefore
  t.ok(all - loop >= 200, `the worker's CPU is the process's (${all} ms) and not the event loop's (${loop.toFixed(1)} ms)`)
  t.ok(Number.isNaN(eventLoopCpuMs(2 ** 30)), 'a process that does not exist: NaN')
})

t.test('machineCpu counts the machine\'s CPUs and its busy ticks, which never exceed the total', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const before = machineCpu()
  burn(200)
  const after = machineCpu()
  if (before === undefined || after === undefined) return t.fail('no /proc/stat on Linux')
  t.ok(after.cpus >= 1)
  t.ok(after.busyTicks - before.busyTicks > 0, 'busy work shows as busy ticks')
  t.ok(after.busyTicks - before.busyTicks <= after.totalTicks - before.totalTicks)
})

t.test('CpuTally sums CPU time and images over windows, and the cores busy over their ticks', async (t) => {
  const tally = new CpuTally(readings([machine(1000, 2000), machine(1150, 2200), machine(1200, 2300), machine(1290, 2400)]))
  const cpu = readings([10_000, 10_600, 20_000, 20_900])
  t.equal(await tally.measure(cpu, async () => 'first', () => 5), 'first', 'measure() passes the window\'s result on')
  await tally.measure(cpu, async () => 'second', () => 10)
  t.equal(tally.msPerImage, 1500 / 15, '600 + 900 ms of CPU for 5 + 10 images')
  t.equal(tally.busyCores, (150 + 90) / (200 + 100) * 2, 'busy ticks over all ticks, times the 2 CPUs')
  t.equal(tally.machineCpus, 2)

  const blind = new CpuTally(() => undefined)
  await blind.measure(readings([0, 100]), async () => null, () => 1)
  t.equal(blind.msPerImage, 100)
  t.ok(Number.isNaN(blind.busyCores), 'without /proc/stat the busy cores are unknown, not 0')
})

t.test('compareCpu bounds the ratio by CPU time: every core busy at the service\'s CPU per image, over the measured ceiling', async (t) => {
  // The ceiling: 120 ms of CPU per image with 1.9 of 2 cores busy. The service: 130 ms per image.
  const ceiling = new CpuTally(readings([machine(0, 1000), machine(950, 2000)]))
  await ceiling.measure(readings([0, 1200]), async () => null, () => 10)
  const service = new CpuTally(readings([machine(0, 1000), machine(990, 2000)]))
  await service.measure(readings([0, 2600]), async () => null, () => 20)
  const cpu = compareCpu(ceiling, service, 15)
  t.equal(cpu.ceilingMsPerImage, 120)
  t.equal(cpu.serviceMsPerImage, 130)
  t.equal(cpu.ceilingBusyCores, 1.9)
  t.equal(cpu.serviceBusyCores, 1.98)
  t.equal(cpu.cpus, 2)
  // 2 cores at 130 ms per image: 15.38 images a second at most, against the ceiling's measured 15.
  t.ok(Math.abs(cpu.ratioBound - 2000 / 130 / 15) < 1e-12, `bound ${cpu.ratioBound}`)
  t.ok(Math.abs(cpu.ratioBound - 1.02564) < 1e-4)
})
