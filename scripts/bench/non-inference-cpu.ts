/**
 * tsx scripts/bench/non-inference-cpu.ts [--root DIR] [--requests 400] [--concurrency 8] [--env KEY=VALUE ...]
 *
 * CPU time the service spends per /embed image of a 500x375 JPEG outside the model, measured inside the service
 * process by thread: the inference thread and the ONNX Runtime threads it creates keep nice 0, every other thread
 * (HTTP, decoding, normalisation, post-processing) runs at PREPROCESS_NICE (19 by default), so the split by nice
 * value is the split between the model and everything around it. Robust to a busy machine, unlike wall-clock
 * ratios. Prints one JSON document.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
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

/** CPU ms so far of the process's threads, split by nice value (0: inference; above: everything else). */
function cpuByNice (pid: number): { inference: number, other: number } {
  const split = { inference: 0, other: 0 }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8') } catch { continue }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ms = (Number(fields[11]) + Number(fields[12])) * 10
    if (Number(fields[16]) === 0) split.inference += ms
    else split.other += ms
  }
  return split
}

const service = await startService({ MODEL: benchModel(), ...env }, values.root)
try {
  const jpeg = await photoJpeg(500, 375)
  const url = `${service.url}/embed`
  const concurrency = Number(values.concurrency)
  await runLoad({ url, body: jpeg, contentType: 'image/jpeg', concurrency, seconds: 600, requests: 48 })
  // Threads that ended (none should) would take their CPU time with them: count the process too.
  const before = cpuByNice(service.pid)
  const started = performance.now()
  const load = await runLoad({ url, body: jpeg, contentType: 'image/jpeg', concurrency, seconds: 3600, requests: Number(values.requests) })
  const after = cpuByNice(service.pid)
  const images = load.statuses[200] ?? 0
  process.stdout.write(`${JSON.stringify({
    root: values.root,
    env,
    images,
    statuses: load.statuses,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    inferenceCpuMsPerImage: Math.round((after.inference - before.inference) / images * 10) / 10,
    nonInferenceCpuMsPerImage: Math.round((after.other - before.other) / images * 10) / 10
  }, null, 2)}\n`)
} finally {
  await service.stop()
}
