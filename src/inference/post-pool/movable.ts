/**
 * The buffers among a message's typed arrays (its own fields and those of its fields) that can move to another
 * thread without a copy: each one a view spanning its whole buffer, listed once. Views into part of a larger buffer
 * (a batch's output, Node's small-Buffer pool) are cloned instead, and those are small.
 */
export function transferables (message: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>()
  const visit = (value: unknown, depth: number): void => {
    if (ArrayBuffer.isView(value)) {
      const { buffer } = value
      if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) found.add(buffer)
      return
    }
    if (depth > 0 && typeof value === 'object' && value !== null) {
      for (const field of Object.values(value)) visit(field, depth - 1)
    }
  }
  visit(message, 3)
  return [...found]
}

/**
 * A typed array that can go to a pool thread without a copy: the view itself when it owns its buffer or lies in
 * shared memory (a tiled map), else a copy (a map cut out of a batch).
 */
export function owning<T extends Float32Array | Uint8Array> (view: T): T {
  const { buffer } = view
  if (buffer instanceof SharedArrayBuffer) return view
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength) return view
  return view.slice() as T
}
