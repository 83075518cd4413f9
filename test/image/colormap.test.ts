import t, { type Test } from 'tap'
import { applyColormap, colormapTable, type ColormapName } from '../../src/image/colormap.js'

const rgbAt = (name: ColormapName, value: number, min = 0, max = 1) =>
  Array.from(applyColormap(Float32Array.of(value), min, max, name))

function near (t: Test, actual: number[], expected: number[], message: string, tolerance = 2): void {
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])))
  t.ok(worst <= tolerance, `${message}: got (${actual}) expected (${expected})`)
}

/** CIE L* of an sRGB colour, 0..100. */
function lightness ([r, g, b]: number[]): number {
  const linear = (v: number) => {
    const c = v / 255
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  const y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y
}

t.test('tables have 256 RGB entries', async (t) => {
  t.equal(colormapTable('turbo').length, 768)
  t.equal(colormapTable('viridis').length, 768)
  t.throws(() => colormapTable('jet' as ColormapName), RangeError)
})

t.test('endpoints match the published maps', async (t) => {
  near(t, rgbAt('viridis', 0), [68, 1, 84], 'viridis(0)')
  near(t, rgbAt('viridis', 1), [253, 231, 37], 'viridis(1)')
  near(t, rgbAt('turbo', 0), [48, 18, 59], 'turbo(0)')
  near(t, rgbAt('turbo', 1), [122, 4, 3], 'turbo(1)')
  near(t, rgbAt('viridis', 0.5), [33, 145, 140], 'viridis(0.5)')
  // min/max other than 0..1 map the same way.
  t.same(rgbAt('turbo', -3, -3, 5), rgbAt('turbo', 0))
  t.same(rgbAt('turbo', 5, -3, 5), rgbAt('turbo', 1))
})

t.test('viridis lightness rises monotonically', async (t) => {
  const ramp = Float32Array.from({ length: 256 }, (_, i) => i / 255)
  const rgb = applyColormap(ramp, 0, 1, 'viridis')
  const l = Array.from({ length: 256 }, (_, i) => lightness([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]))
  // 8-bit rounding leaves a few neighbours equal or a hair darker (< 0.05 L*), so: never down by
  // more than that, and strictly up over every 4 entries.
  let worstDrop = 0
  for (let i = 1; i < 256; i++) worstDrop = Math.max(worstDrop, l[i - 1] - l[i])
  t.ok(worstDrop < 0.05, `largest drop ${worstDrop.toFixed(3)} L*`)
  let risesOverFour = true
  for (let i = 4; i < 256; i++) if (!(l[i] > l[i - 4])) risesOverFour = false
  t.ok(risesOverFour)
  t.ok(l[255] - l[0] > 60, 'dark to light')
})

t.test('turbo is smooth: neighbouring entries differ by a few levels at most', async (t) => {
  const table = colormapTable('turbo')
  let worst = 0
  for (let i = 3; i < table.length; i++) worst = Math.max(worst, Math.abs(table[i] - table[i - 3]))
  t.ok(worst <= 8, `largest step ${worst}`)
})

t.test('out-of-range values clamp, NaN is black', async (t) => {
  for (const name of ['turbo', 'viridis'] as const) {
    const values = Float32Array.of(-10, 0, 1, 10, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN, 3e38)
    const rgb = Array.from(applyColormap(values, 0, 1, name))
    const pixel = (i: number) => rgb.slice(i * 3, i * 3 + 3)
    t.same(pixel(0), pixel(1), `${name}: below min clamps to min`)
    t.same(pixel(3), pixel(2), `${name}: above max clamps to max`)
    t.same(pixel(4), pixel(1), `${name}: -Infinity clamps to min`)
    t.same(pixel(5), pixel(2), `${name}: +Infinity clamps to max`)
    t.same(pixel(6), [0, 0, 0], `${name}: NaN is black`)
    t.same(pixel(7), pixel(2), `${name}: huge values clamp`)
  }
})

t.test('a flat range paints every value with the first entry rather than failing', async (t) => {
  const rgb = Array.from(applyColormap(Float32Array.of(2, 2, 7), 2, 2, 'viridis'))
  t.same(rgb, [...rgbAt('viridis', 0), ...rgbAt('viridis', 0), ...rgbAt('viridis', 0)])
})

t.test('output is [N, 3] and handles empty input', async (t) => {
  t.equal(applyColormap(new Float32Array(10), 0, 1, 'turbo').length, 30)
  t.equal(applyColormap(new Float32Array(0), 0, 1, 'turbo').length, 0)
})
