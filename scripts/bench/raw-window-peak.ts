/**
 * A bare ONNX Runtime process that runs one window once and prints its RSS before and its peak (VmHWM) after, in MiB,
 * as JSON: the memory one window costs any process. Once only: a second run at the same shape adds ONNX Runtime's
 * memory-pattern block (~0.8 GB more at 1024²), which the service's session does not build once its 224² warm-up
 * has run at another shape.
 * Usage: tsx raw-window-peak.ts <model dir> <side> <threads>
 */
import { readFileSync } from 'node:fs'
import { RawSession } from './raw-session.js'

const status = (field: string): number => {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? ''
  return Number(line.split(/\s+/)[1]) / 1024
}
const [model, side, threads] = process.argv.slice(2)
const raw = await RawSession.open(model, { size: Number(side), threads: Number(threads), spinning: false })
const beforeMiB = status('VmRSS')
await raw.once(1)
process.stdout.write(JSON.stringify({ beforeMiB, peakMiB: status('VmHWM') }) + '\n')
await raw.release()
