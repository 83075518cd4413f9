import type { InferenceSession } from 'onnxruntime-node'

/** A tensor as it crosses between threads: plain data, no ONNX Runtime object. */
export interface TensorData {
  type: 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8'
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array
  dims: readonly number[]
}

export type SessionOptions = InferenceSession.SessionOptions

export interface SessionDescription {
  sessionId: number
  inputNames: readonly string[]
  outputNames: readonly string[]
  inputMetadata: readonly InferenceSession.ValueMetadata[]
  outputMetadata: readonly InferenceSession.ValueMetadata[]
}

export type Request =
  | { id: number, kind: 'create', file: string, options: SessionOptions }
  /**
   * With `returnFeeds`, the answer is a RunWithFeeds: the feeds' buffers come back to be used again. With `into`,
   * outputs are written into the buffers given (moved here and back, never made afresh): ONNX Runtime's
   * pre-allocated outputs.
   */
  | { id: number, kind: 'run', sessionId: number, feeds: Record<string, TensorData>, fetches: string[], returnFeeds?: boolean, into?: Record<string, TensorData> }
  | { id: number, kind: 'release', sessionId: number }
  | { id: number, kind: 'close' }

export interface RunWithFeeds {
  outputs: Record<string, TensorData>
  /** The feeds' buffers, moved back once onnxruntime is done with them. */
  feeds: ArrayBuffer[]
}

export type Response =
  | { id: number, ok: true, value: unknown }
  | { id: number, ok: false, message: string }

/** The first message a worker sends: its kernel thread id, so the process can tell its threads apart. */
export interface Ready {
  kind: 'ready'
  threadId: number
}
