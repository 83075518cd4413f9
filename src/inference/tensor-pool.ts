/**
 * Model-input and model-output buffers, used again rather than made afresh. A 224² image's tensor is 600 KB of
 * memory V8 counts as external, and making one per image (and one more per batch) set off a full garbage
 * collection every 17 or so requests at concurrency 8; a batch's output did the same every 1.7 s. Input buffers come
 * back when a batch has copied them, and from the inference thread once a run is over; an output's once every image
 * of its batch has released it. At most `limitBytes` wait here; a buffer past that is left to the collector.
 */
export class TensorPool {
  private readonly free = new Map<number, ArrayBuffer[]>()
  private bytes = 0

  constructor (private readonly limitBytes: number) {}

  /** Bytes waiting to be used again. */
  get held (): number {
    return this.bytes
  }

  /** `length` floats, not zeroed: the caller writes every one. */
  take (length: number): Float32Array {
    return this.reuse(length) ?? new Float32Array(length)
  }

  /** `length` floats waiting here, not zeroed; none made when none waits (the caller's own allocator is better). */
  reuse (length: number): Float32Array | undefined {
    const buffer = this.free.get(length * 4)?.pop()
    if (buffer === undefined) return undefined
    this.bytes -= buffer.byteLength
    return new Float32Array(buffer)
  }

  /** Gives a buffer back: the caller never reads it again (it may be detached already, which is ignored). */
  give (buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || this.bytes + buffer.byteLength > this.limitBytes) return
    const list = this.free.get(buffer.byteLength)
    if (list === undefined) this.free.set(buffer.byteLength, [buffer])
    else list.push(buffer)
    this.bytes += buffer.byteLength
  }
}
