import t from 'tap'
import type { TokenOutput } from '../../src/inference/batcher.js'
import { firstPatchToken, l2Normalize, patchGrid, poolTokens } from '../../src/inference/tokens.js'

/** [tokens, channels] rows: CLS, then `registers` register tokens, then the patches; every value distinct. */
function output (registers: number, patches: number, channels: number): TokenOutput {
  const tokenCount = 1 + registers + patches
  const tokens = Float32Array.from({ length: tokenCount * channels }, (_, i) => {
    const token = Math.floor(i / channels)
    const c = i % channels
    // Registers get huge values: if they leak into a mean it shows.
    if (token >= 1 && token <= registers) return 1000 + token
    return token * 10 + c + (token === 0 ? 0.5 : 0) - (c % 2 === 1 ? 40 : 0)
  })
  return { tokens, tokenCount, channels, queueMs: 0, inferenceMs: 0, startedAt: 0, batchSize: 1 }
}

const row = (out: TokenOutput, token: number): number[] => Array.from(out.tokens.subarray(token * out.channels, (token + 1) * out.channels))

/** The plain mean of rows first … tokenCount − 1, channel by channel. */
function naiveMean (out: TokenOutput, first: number): number[] {
  const sums = new Array<number>(out.channels).fill(0)
  for (let token = first; token < out.tokenCount; token++) row(out, token).forEach((v, c) => { sums[c] += v })
  return sums.map((s) => s / (out.tokenCount - first))
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-5): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tolerance * Math.max(1, Math.abs(b[i])))

t.test('firstPatchToken skips CLS and the registers', async (t) => {
  t.equal(firstPatchToken(0), 1)
  t.equal(firstPatchToken(4), 5)
})

for (const registers of [0, 4]) {
  t.test(`pooling with ${registers} registers`, async (t) => {
    const out = output(registers, 6, 5)
    const before = Float32Array.from(out.tokens)
    const cls = poolTokens(out, registers, 'cls', false)
    t.same(Array.from(cls), row(out, 0), 'cls is row 0')

    const mean = poolTokens(out, registers, 'mean', false)
    const expectedMean = naiveMean(out, 1 + registers)
    t.ok(close(mean, expectedMean), `mean of the 6 patch rows: ${Array.from(mean)} vs ${expectedMean}`)
    t.ok(mean.every((v) => v < 100), 'no register value leaked into the mean')

    const both = poolTokens(out, registers, 'cls+mean', false)
    t.equal(both.length, 10)
    t.same(Array.from(both.subarray(0, 5)), row(out, 0))
    t.ok(close(both.subarray(5), expectedMean))

    t.same(out.tokens, before, 'the batch output is not modified')
  })
}

t.test('the mean of a known example', async (t) => {
  // CLS [9, 9], one register [100, -100], patches [1, 2], [3, 6], [5, 10].
  const out: TokenOutput = { tokens: Float32Array.from([9, 9, 100, -100, 1, 2, 3, 6, 5, 10]), tokenCount: 5, channels: 2, queueMs: 0, inferenceMs: 0, startedAt: 0, batchSize: 1 }
  t.same(Array.from(poolTokens(out, 1, 'mean', false)), [3, 6])
  t.same(Array.from(poolTokens(out, 0, 'mean', false)), [109 / 4, -82 / 4], 'with no registers declared, row 1 is a patch')
  t.same(Array.from(poolTokens(out, 1, 'cls+mean', false)), [9, 9, 3, 6])
})

t.test('normalize gives a unit vector in the same direction', async (t) => {
  const out = output(4, 6, 5)
  const before = Float32Array.from(out.tokens)
  for (const pooling of ['cls', 'mean', 'cls+mean'] as const) {
    const raw = poolTokens(out, 4, pooling, false)
    const unit = poolTokens(out, 4, pooling, true)
    const norm = Math.sqrt(Array.from(raw).reduce((sum, v) => sum + v * v, 0))
    t.ok(close(unit, Array.from(raw, (v) => v / norm)), `${pooling}: v / |v|`)
    const length = Math.sqrt(Array.from(unit).reduce((sum, v) => sum + v * v, 0))
    t.ok(Math.abs(length - 1) < 1e-6, `${pooling}: |v| = ${length}`)
  }
  t.same(out.tokens, before, 'normalising works on a copy, never on the batch output')
  t.same(Array.from(l2Normalize(Float32Array.from([3, 4]))), [Math.fround(0.6), Math.fround(0.8)])
  t.same(Array.from(l2Normalize(new Float32Array(3))), [0, 0, 0], 'a zero vector stays zero, not NaN')
})

t.test('patchGrid turns [tokens, C] rows into a [C, h, w] row-major map', async (t) => {
  // 2 registers, a 2 × 3 grid (h = 2, w = 3), 4 channels.
  const registers = 2
  const h = 2
  const w = 3
  const out = output(registers, h * w, 4)
  const grid = patchGrid(out, registers, h, w)
  t.equal(grid.length, 4 * h * w)
  for (let c = 0; c < 4; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // Patch (y, x) is token 1 + registers + y·w + x.
        const token = 1 + registers + y * w + x
        t.equal(grid[c * h * w + y * w + x], out.tokens[token * 4 + c], `c ${c} y ${y} x ${x}`)
      }
    }
  }
  // A small case written out: 0 registers, h = 1, w = 2, 3 channels.
  const small: TokenOutput = { tokens: Float32Array.from([0, 0, 0, 1, 2, 3, 4, 5, 6]), tokenCount: 3, channels: 3, queueMs: 0, inferenceMs: 0, startedAt: 0, batchSize: 1 }
  t.same(Array.from(patchGrid(small, 0, 1, 2)), [1, 4, 2, 5, 3, 6])
})

t.test('patchGrid refuses a grid that does not match the token count', async (t) => {
  const out = output(4, 6, 2)
  t.throws(() => patchGrid(out, 4, 3, 3), { message: 'expected 9 patch tokens for a 3×3 grid, got 6' })
  t.throws(() => patchGrid(out, 0, 2, 3), { message: 'expected 6 patch tokens for a 2×3 grid, got 10' })
  t.doesNotThrow(() => patchGrid(out, 4, 3, 2))
})
