import t from 'tap'
import { TensorPool } from '../../src/inference/tensor-pool.js'

t.test('a buffer given back is the one taken next for the same length, and only for it', async (t) => {
  const pool = new TensorPool(1024)
  const first = pool.take(16)
  first.fill(7)
  pool.give(first.buffer as ArrayBuffer)
  t.equal(pool.held, 64)
  t.not(pool.take(8).buffer, first.buffer, 'another length gets a buffer of its own')
  const again = pool.take(16)
  t.equal(again.buffer, first.buffer, 'the same buffer, used again')
  t.same(Array.from(again), Array(16).fill(7), 'not zeroed: the caller writes every value')
  t.equal(pool.held, 0)
  t.equal(pool.take(16).length, 16, 'an empty pool makes a new one')
})

t.test('reuse gives a waiting buffer, and makes none when none waits', async (t) => {
  const pool = new TensorPool(1024)
  t.equal(pool.reuse(16), undefined, 'nothing waits: nothing made')
  const buffer = new ArrayBuffer(64)
  pool.give(buffer)
  t.equal(pool.reuse(8), undefined, 'only a buffer of the length asked for')
  t.equal(pool.reuse(16)?.buffer, buffer)
  t.equal(pool.held, 0)
  t.equal(pool.reuse(16), undefined, 'taken: gone from the pool')
})

t.test('holds at most its limit, and ignores detached buffers', async (t) => {
  const pool = new TensorPool(100)
  pool.give(new ArrayBuffer(64))
  pool.give(new ArrayBuffer(64))
  t.equal(pool.held, 64, 'the second would pass the limit: left to the collector')
  const moved = new ArrayBuffer(32)
  structuredClone(moved, { transfer: [moved] })
  pool.give(moved)
  t.equal(pool.held, 64, 'a detached buffer is not kept')
})
