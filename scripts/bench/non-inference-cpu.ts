/**
 * tsx scripts/bench/non-inference-cpu.ts [--root DIR] [--requests 400] [--concurrency 8] [--env KEY=VALUE ...]
 *
 * CPU time the service spends per /embed image of a 500x375 JPEG outside the model, measured inside the service
 * process by thread: the inference thread and the ONNX Runtime threads it creates keep nice 0, the decoding and
 * post-processing threads run at PREPROCESS_NICE (19 by default), so the split by nice value, the main thread aside,
 * is the split between the model and everything around it. Robust to a busy machine, unlike wall-clock ratios. The
 * main thread (the event loop: HTTP, hooks, metrics, small images' normalisation; at nice 0 too) counts as
 * non-inference, and is also reported on its own. Prints one JSON document.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { eventLoopCpuMs } from './cpu-time.js'
import { benchModel, photoJpeg } from './fixtures.js'
import { runLoad } from './load.js'
import { startService } from './service-process.js'

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: process.cwd() },
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
    env: { type: 'string', multiple: true, default: [] }
  }
})
const env = Object.fromEntries(values.env.map((pair) => pair.split('=') as [string, string]))

/**
 * CPU ms so far of the process's threads, split by nice value (0: inference, the main thread aside; above: everything
 * else), and of the main thread alone (the event loop: the thread whose id is the process's), which is part of
 * `other`; the main thread's from schedstat where the kernel has it (eventLoopCpuMs).
 */
function cpuByNice (pid: number): { inference: number, other: number, mainThread: number } {
  const split = { inference: 0, other: 0, mainThread: 0 }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8') } catch { continue }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ms = (Number(fields[11]) + Number(fields[12])) * 10
    if (Number(fields[16]) === 0 && Number(tid) !== pid) split.inference += ms
    else split.other += ms
    if (Number(tid) === pid) split.mainThread = eventLoopCpuMs(pid)
  }
  return split
}

/** Backbone runs and the images they took so far, from the service's own dinov3_batch_size histogram. */
async function batches (url: string): Promise<{ runs: number, images: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const value = (name: string): number => Number(text.split('\n').find((line) => line.startsWith(`${name} `))?.split(' ')[1] ?? NaN)
  return { runs: value('dinov3_batch_size_count'), images: value('dinov3_batch_size_sum') }
}

const service = await startService({ MODEL: benchModel(), ...env }, values.root)
try {
  const jpeg = await photoJpeg(500, 375)
  const url = `${service.url}/embed`
  const concurrency = Number(values.concurrency)
  await runLoad({ url, body: jpeg, contentType: 'image/jpeg', concurrency, seconds: 600, requests: 48 })
  // Threads that ended (none should) would take their CPU time with them: count the process too.
  const batchesBefore = await batches(service.url)
  const before = cpuByNice(service.pid)
  const started = performance.now()
  const load = await runLoad({ url, body: jpeg, contentType: 'image/jpeg', concurrency, seconds: 3600, requests: Number(values.requests) })
  const after = cpuByNice(service.pid)
  const batchesAfter = await batches(service.url)
  const images = load.statuses[200] ?? 0
  process.stdout.write(`${JSON.stringify({
    root: values.root,
    env,
    images,
    statuses: load.statuses,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    inferenceCpuMsPerImage: Math.round((after.inference - before.inference) / images * 10) / 10,
    nonInferenceCpuMsPerImage: Math.round((after.other - before.other) / images * 10) / 10,
    mainThreadCpuMsPerImage: Math.round((after.mainThread - before.mainThread) / images * 100) / 100,
    // Per-batch work (a run's message each way, its tensor) is shared by the images of a batch: more per image when
    // batches are smaller.
    meanBatchSize: Math.round((batchesAfter.images - batchesBefore.images) / (batchesAfter.runs - batchesBefore.runs) * 100) / 100
  }, null, 2)}\n`)
} finally {
  await service.stop()
}
