import type { TensorData } from './protocol.js'

/**
 * The buffer behind `view` when the view spans all of it, so that it can move to another thread without a copy
 * (postMessage's transfer list). A view into part of a larger buffer, or into shared memory, cannot move.
 */
export function movableBuffer (view: TensorData['data']): ArrayBuffer | undefined {
  const { buffer } = view
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength ? buffer : undefined
}
