import type { TensorData } from './protocol.js'

/**
 * The buffer behind `view` when the view spans all of it, so that it can move to another thread without a copy
 * (postMessage's transfer list). A view into part of a larger buffer, or into shared memory, cannot move.
 */
export function movableBuffer (view: TensorData['data']): ArrayBuffer | undefined {
  const { buffer } = view
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength ? buffer : undefined
}

/** The movable buffers of some tensors, each once (a buffer listed twice makes postMessage throw). */
export function movableBuffers (tensors: TensorData[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  for (const tensor of tensors) {
    const buffer = movableBuffer(tensor.data)
    if (buffer !== undefined) buffers.add(buffer)
  }
  return [...buffers]
}
