/**
 * Equal-sized parts one after another in a buffer of their own (a batch's tensor, a head's feeds): the result can
 * move to another thread without taking its parts' buffers along. Each part gives its first `size` values.
 */
export function joinFloat32 (parts: readonly Float32Array[], size = parts[0]?.length ?? 0): Float32Array {
  const out = new Float32Array(parts.length * size)
  parts.forEach((part, i) => out.set(part.length === size ? part : part.subarray(0, size), i * size))
  return out
}
