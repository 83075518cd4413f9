import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { decodeNpy, encodeNpy } from '../../src/image/npy.js'

const numpyAvailable = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0
const NO_NUMPY = 'numpy not importable by python3 (on Debian: apt-get install python3-numpy)'

function python (script: string, ...args: string[]): string {
  const run = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`)
  return run.stdout
}

t.test('header bytes for a 3x4 float32 array are exactly NumPy 1.0', async (t) => {
  const npy = encodeNpy(new Float32Array(12), [3, 4])
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
  // 10 preamble bytes + 61 dict bytes + padding + '\n' = 128, the next multiple of 64.
  const expected = Buffer.concat([
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 118, 0x00]),
    Buffer.from(dict + ' '.repeat(58) + '\n', 'latin1'),
  ])
  t.equal(expected.length, 128)
  t.same(npy.subarray(0, 128), expected)
  t.equal(npy.length, 128 + 12 * 4)
})

t.test('header length is a multiple of 64 for many shapes, 1-d written as (n,)', async (t) => {
  for (const shape of [[0], [5], [1, 1], [7, 3, 2], [384, 64, 64], [1, 1024, 256, 256], [123456789, 0]]) {
    const count = shape.reduce((a, b) => a * b, 1)
    const npy = encodeNpy(new Uint8Array(count), shape)
    const headerLength = npy.readUInt16LE(8)
    t.equal((10 + headerLength) % 64, 0, `shape ${shape}`)
    t.equal(npy[10 + headerLength - 1], 0x0a, 'header ends with a newline')
  }
  const header = encodeNpy(new Int32Array(5), [5]).toString('latin1', 10, 80)
  t.match(header, "'shape': (5,), }")
})

t.test('shape must match the data length', async (t) => {
  t.throws(() => encodeNpy(new Float32Array(12), [5, 2]), RangeError)
  t.throws(() => encodeNpy(new Float32Array(4), [2, -2]), RangeError)
  t.throws(() => encodeNpy(new Float32Array(4), [2.5, 2]), RangeError)
})

t.test('round trips every dtype, including views at an offset into a larger buffer', async (t) => {
  const backing = new ArrayBuffer(64 + 24 * 4)
  const view = new Float32Array(backing, 64, 24)
  view.forEach((_, i) => (view[i] = i * 0.5 - 3.25))
  const cases = [
    { array: view, dtype: '<f4', shape: [2, 3, 4] },
    { array: Uint8Array.from([0, 1, 254, 255, 7]), dtype: '|u1', shape: [5] },
    { array: Uint16Array.from([0, 1, 256, 65535, 4242, 9]), dtype: '<u2', shape: [3, 2] },
    { array: Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 42]), dtype: '<i4', shape: [1, 6] },
  ] as const
  for (const { array, dtype, shape } of cases) {
    const decoded = decodeNpy(encodeNpy(array, shape))
    t.equal(decoded.dtype, dtype)
    t.same(decoded.shape, shape)
    t.same(Array.from(decoded.data), Array.from(array), dtype)
  }
})

t.test('decodeNpy rejects what is not an .npy', async (t) => {
  t.throws(() => decodeNpy(Buffer.from('PK\x03\x04 not numpy')), /magic/)
})

t.test('real numpy agrees', { skip: numpyAvailable ? false : NO_NUMPY }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const data = new Float32Array(3 * 5 * 7)
  data.forEach((_, i) => (data[i] = Math.sin(i) * 100))
  const expectedSum = data.reduce((a, b) => a + b, 0)
  const ours = join(dir, 'ours.npy')
  writeFileSync(ours, encodeNpy(data, [3, 5, 7]))
  const loaded = JSON.parse(
    python(
      'import json, sys, numpy as np\n' +
        'a = np.load(sys.argv[1])\n' +
        "print(json.dumps({'shape': list(a.shape), 'dtype': str(a.dtype), 'sum': float(a.sum(dtype=np.float64)), 'c': bool(a.flags['C_CONTIGUOUS']), 'v': float(a[2, 4, 6])}))",
      ours
    )
  )
  t.same(loaded.shape, [3, 5, 7])
  t.equal(loaded.dtype, 'float32')
  t.ok(Math.abs(loaded.sum - expectedSum) < 1e-3, `sum ${loaded.sum} vs ${expectedSum}`)
  t.equal(loaded.v, data[3 * 5 * 7 - 1], 'C order: last element is a[2, 4, 6]')

  for (const [dtype, make] of [
    ['uint8', () => encodeNpy(Uint8Array.from([1, 2, 3, 250]), [4])],
    ['uint16', () => encodeNpy(Uint16Array.from([1, 300, 65535, 7, 8, 9]), [2, 3])],
    ['int32', () => encodeNpy(Int32Array.from([-5, 1, 2, 3]), [2, 2])],
  ] as const) {
    const file = join(dir, `${dtype}.npy`)
    writeFileSync(file, make())
    const out = python('import sys, numpy as np\na = np.load(sys.argv[1])\nprint(a.dtype, a.shape, int(a.sum()))', file).trim()
    const expected = { uint8: 'uint8 (4,) 256', uint16: 'uint16 (2, 3) 65860', int32: 'int32 (2, 2) 1' }[dtype]
    t.equal(out, expected, dtype)
  }

  // numpy's own header for the same array is byte-identical, and decodeNpy reads numpy's files.
  const theirs = join(dir, 'theirs.npy')
  python('import sys, numpy as np\nnp.save(sys.argv[1], np.arange(12, dtype=np.float32).reshape(3, 4))', theirs)
  const theirBytes = readFileSync(theirs)
  const ourBytes = encodeNpy(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4])
  t.same(ourBytes, theirBytes, 'byte-identical to np.save')
  const decoded = decodeNpy(theirBytes)
  t.same(decoded.shape, [3, 4])
  t.same(Array.from(decoded.data), Array.from({ length: 12 }, (_, i) => i))
})
