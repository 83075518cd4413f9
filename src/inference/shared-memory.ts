/**
 * Float arrays over shared memory: tensors cross to the inference thread without a copy (postMessage shares a
 * SharedArrayBuffer) and stay usable here afterwards, unlike a transferred buffer.
 */
export function sharedFloat32 (length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT))
}
