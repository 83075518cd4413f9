/**
 * Equal-sized parts one after another in a buffer of their own (a batch's tensor, a head's feeds): the result can
 * move to another thread without taking its parts' buffers along. Each part gives its first `size` values; `out`
 * (every value of it is written) may be a buffer used before.
 */
export function joinFloat32 (parts: readonly Float32Array[], size = parts[0]?.length ?? 0, out: Float32Array = new Float32Array(parts.length * size)): Float32Array {
  parts.forEach((part, i) => out.set(part.length === size ? part : part.subarray(0, size), i * size))
  return out
}
