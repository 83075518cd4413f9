import { readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'
import { decodeToTensor, readHeader } from '../../src/image/decode.js'
import { embedGeometry } from '../../src/inference/geometry.js'
import type { ModelFolder } from '../../src/inference/model-folder.js'
import { flatTables, normalisationTable } from '../../src/inference/normalize.js'
import { startThreadPool } from '../../src/inference/thread-priority.js'
import type { RawSession } from './raw-session.js'

/**
 * The least any server must add to the raw session: the next batch's JPEGs decoded (the service's native decoder,
 * straight into the batch tensor, on libuv's pool at the service's PREPROCESS_NICE) while the current batch runs.
 * No HTTP, no queue, no inference thread, no copy: what is lost against the ceiling is the model running beside
 * the decoding on the same cores.
 */
export class DecodeOverlap {
  private constructor (private readonly raw: RawSession, private readonly decodeBatch: (into: Float32Array) => Promise<void>, private readonly batch: number, private readonly size: number) {}

  /** `size`: the raw session's square input, which /embed must make of `jpeg` under the folder's processor. */
  static async open (raw: RawSession, jpeg: Buffer, folder: ModelFolder, options: { batch: number, size: number, nice: number }): Promise<DecodeOverlap> {
    // The pool's threads are there once it has run a task; only they are lowered (this process's ONNX Runtime threads keep theirs).
    await startThreadPool()
    for (const tid of readdirSync('/proc/self/task')) {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('libuv-worker')) setPriority(Number(tid), options.nice)
    }
    const { size, batch } = options
    const decode = { maxPixels: 1e8 }
    const header = await readHeader(jpeg, decode)
    // The service's own rule for /embed's input, not a copy of it.
    const { plan, geometry } = embedGeometry(header, folder.processor, folder.config.patchSize)
    if (geometry.padded.width !== size || geometry.padded.height !== size) {
      throw new Error(`/embed makes a ${geometry.padded.width}×${geometry.padded.height} input of this JPEG, not the raw session's ${size}×${size}`)
    }
    const table = flatTables(normalisationTable(folder.processor))
    const plane = 3 * size * size
    const decodeBatch = async (into: Float32Array): Promise<void> => {
      await Promise.all(Array.from({ length: batch }, async (_, i) => {
        const written = await decodeToTensor(jpeg, header, plan, decode, { out: into.subarray(i * plane, (i + 1) * plane), table, padded: { width: size, height: size } })
        if (written === undefined) throw new Error('the native JPEG decoder is not built (scripts/build-native.sh)')
      }))
    }
    return new DecodeOverlap(raw, decodeBatch, batch, size)
  }

  /** Batches for about `seconds`, each run while the next one's images are decoded. */
  async run (seconds: number): Promise<{ images: number, seconds: number }> {
    const tensors = [0, 1].map(() => new Float32Array(this.batch * 3 * this.size * this.size))
    let turn = 0
    let next = this.decodeBatch(tensors[turn])
    let images = 0
    const started = performance.now()
    while (performance.now() - started < seconds * 1000) {
      await next
      const ready = tensors[turn]
      turn = 1 - turn
      next = this.decodeBatch(tensors[turn])
      await this.raw.runOn(ready, this.batch)
      images += this.batch
    }
    await next
    return { images, seconds: (performance.now() - started) / 1000 }
  }
}
