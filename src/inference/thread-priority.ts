import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/**
 * Lowers the CPU priority (raises the nice value) of every thread of this process but the ones kept. On a CPU host
 * inference and image decoding share the cores; with inference kept ahead, decoding fills the gaps inference leaves
 * instead of stalling its parallel sections, and inference runs nearly as fast as alone.
 *
 * Called before the inference thread creates its sessions: threads created later inherit their creator's priority
 * (ONNX Runtime's from the inference thread, libuv's and libvips' from the lowered ones). Linux only, where a
 * thread id is a valid target of setpriority; elsewhere this does nothing.
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

/** The nice value of each thread of this process, by thread id. */
export function threadNiceValues (): Map<number, number> {
  const values = new Map<number, number>()
  if (process.platform !== 'linux') return values
  for (const entry of readdirSync('/proc/self/task')) {
    try {
      values.set(Number(entry), getPriority(Number(entry)))
    } catch {}
  }
  return values
}
