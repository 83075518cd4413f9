import { readdirSync, readlinkSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { getPriority, setPriority } from 'node:os'

/**
 * Lowers the CPU priority (raises the nice value) of every thread of this process but the ones kept (the engine
 * keeps its inference threads and the event loop). On a CPU host inference and image decoding share the cores; with
 * inference kept ahead, decoding fills the gaps inference leaves instead of stalling its parallel sections, and
 * inference runs nearly as fast as alone.
 *
 * Threads created later inherit their creator's priority: ONNX Runtime's from the inference thread, libvips' from
 * libuv's lowered pool, which must therefore have started (startThreadPool) before this runs. Threads the event loop
 * creates later lower themselves (lowerThisThread). Linux only, where a thread id is a valid target of setpriority;
 * elsewhere this does nothing.
 */
export function lowerOtherThreads (keep: readonly number[], nice: number): number[] {
  if (process.platform !== 'linux' || nice <= 0) return []
  const lowered: number[] = []
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry)
    if (keep.includes(tid)) continue
    try {
      if (getPriority(tid) < nice) {
        setPriority(tid, nice)
        lowered.push(tid)
      }
    } catch {
      // The thread ended between listing and setting.
    }
  }
  return lowered
}

/** The nice value of each thread of this process (or of process `pid`), by thread id. */
export function threadNiceValues (pid: number | 'self' = 'self'): Map<number, number> {
  const values = new Map<number, number>()
  if (process.platform !== 'linux') return values
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      values.set(Number(entry), getPriority(Number(entry)))
    } catch {}
  }
  return values
}

/** Raises this thread's nice value to `nice` (never lowers it): for a worker thread that the event loop created. */
export function lowerThisThread (nice: number): void {
  if (process.platform !== 'linux' || nice <= 0) return
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (getPriority(tid) < nice) setPriority(tid, nice)
  } catch {
    // No /proc, or a kernel that refuses: the thread keeps its priority.
  }
}

/**
 * Starts libuv's thread pool (decoding, file reads), which otherwise starts at its first task, its threads taking the
 * priority of the thread that queued it.
 */
export async function startThreadPool (): Promise<void> {
  await access(process.cwd())
}
