import t from 'tap'
import { applyPalette, hexColour, labelPalette } from '../../src/image/palette.js'

const colour = (palette: Uint8Array, i: number) => Array.from(palette.subarray(i * 3, i * 3 + 3))

t.test('first entries are the Pascal VOC colours', async (t) => {
  const palette = labelPalette(21)
  t.equal(palette.length, 63)
  t.same(colour(palette, 0), [0, 0, 0], 'background is black')
  t.same(colour(palette, 1), [128, 0, 0])
  t.same(colour(palette, 2), [0, 128, 0])
  t.same(colour(palette, 3), [128, 128, 0])
  t.same(colour(palette, 4), [0, 0, 128])
  t.same(colour(palette, 15), [192, 128, 128], 'VOC person')
  t.same(colour(palette, 20), [0, 64, 128], 'VOC tv/monitor')
})

t.test('deterministic, and a longer palette extends a shorter one', async (t) => {
  t.same(labelPalette(1000), labelPalette(1000))
  t.same(labelPalette(1000).subarray(0, 150 * 3), labelPalette(150))
  t.equal(labelPalette(0).length, 0)
  t.throws(() => labelPalette(-1), RangeError)
  t.throws(() => labelPalette(2.5), RangeError)
})

t.test('no duplicates among the first 256', async (t) => {
  const palette = labelPalette(256)
  const seen = new Set<string>()
  for (let i = 0; i < 256; i++) seen.add(hexColour(palette, i))
  t.equal(seen.size, 256)
})

t.test('beyond 256, neighbouring labels stay far apart', async (t) => {
  const palette = labelPalette(2048)
  let closest = Infinity
  for (let i = 257; i < 2048; i++) {
    const [a, b] = [colour(palette, i), colour(palette, i - 1)]
    closest = Math.min(closest, Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]))
  }
  t.ok(closest > 40, `closest consecutive pair is ${closest.toFixed(1)} apart`)
  const distinct = new Set(Array.from({ length: 2048 - 256 }, (_, i) => hexColour(palette, 256 + i)))
  t.ok(distinct.size > 0.95 * (2048 - 256), `${distinct.size} distinct colours among 1792`)
})

t.test('hexColour formats legend entries and checks bounds', async (t) => {
  const palette = labelPalette(3)
  t.equal(hexColour(palette, 0), '#000000')
  t.equal(hexColour(palette, 1), '#800000')
  t.equal(hexColour(palette, 2), '#008000')
  t.throws(() => hexColour(palette, 3), RangeError)
  t.throws(() => hexColour(palette, -1), RangeError)
})

t.test('applyPalette paints labels and leaves unknown labels black', async (t) => {
  const palette = labelPalette(3)
  const rgb = applyPalette(Uint16Array.of(1, 2, 0, 7), palette)
  t.same(Array.from(rgb), [128, 0, 0, 0, 128, 0, 0, 0, 0, 0, 0, 0])
  t.same(Array.from(applyPalette(Int32Array.of(-1), palette)), [0, 0, 0])
})
