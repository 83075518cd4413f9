import t from 'tap'
import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from '../../src/inference/float16.js'

/** Half precision by its definition: sign, 5 exponent bits biased by 15, 10 mantissa bits, subnormals below. */
function naiveHalfValue (bits: number): number {
  const sign = bits >= 0x8000 ? -1 : 1
  const exponent = Math.floor(bits / 1024) % 32
  const mantissa = bits % 1024
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN
  if (exponent === 0) return sign * (mantissa / 1024) * Math.pow(2, -14)
  return sign * (1 + mantissa / 1024) * Math.pow(2, exponent - 15)
}

/** Every finite non-negative half, ascending: bits 0x0000 to 0x7bff. */
const positives = Array.from({ length: 0x7c00 }, (_, bits) => naiveHalfValue(bits))

/** Round to nearest, ties to even, by searching the table: no bit tricks. */
function naiveToHalf (value: number): number {
  if (Number.isNaN(value)) return 0x7e00
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0
  const magnitude = Math.abs(value)
  // Past the largest half (65504) by half a step (16) or more, the nearest is infinity.
  if (magnitude >= 65520) return sign | 0x7c00
  let low = 0
  let high = positives.length - 1
  while (high - low > 1) {
    const middle = (low + high) >> 1
    if (positives[middle] <= magnitude) low = middle
    else high = middle
  }
  const below = magnitude - positives[low]
  const above = positives[high] - magnitude
  const bits = below < above || (below === above && low % 2 === 0) ? low : high
  return sign | bits
}

const hex = (bits: number): string => `0x${bits.toString(16).padStart(4, '0')}`

t.test('known bit patterns', async (t) => {
  const known: Array<[number, number]> = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -24 * 1023, 0x03ff],
    [2 ** -26, 0x0000],
    [0, 0x0000],
    [-0, 0x8000],
    [1 / 3, 0x3555],
    [0.1, 0x2e66]
  ]
  for (const [value, bits] of known) t.equal(toFloat16Bits(value), bits, `${value} → ${hex(bits)}`)
  const nan = toFloat16Bits(NaN)
  t.equal(nan & 0x7c00, 0x7c00, 'NaN has an all-ones exponent')
  t.not(nan & 0x3ff, 0, 'and a non-zero mantissa')
  t.ok(Number.isNaN(fromFloat16Bits(nan)))
})

t.test('known values from bits', async (t) => {
  t.equal(fromFloat16Bits(0x3c00), 1)
  t.equal(fromFloat16Bits(0xc000), -2)
  t.equal(fromFloat16Bits(0x7bff), 65504)
  t.equal(fromFloat16Bits(0x3555), 0.333251953125)
  t.equal(fromFloat16Bits(0x0001), 2 ** -24)
  t.equal(fromFloat16Bits(0x03ff), 1023 * 2 ** -24)
  t.equal(fromFloat16Bits(0x0400), 2 ** -14)
  t.equal(fromFloat16Bits(0x7c00), Infinity)
  t.equal(fromFloat16Bits(0xfc00), -Infinity)
  t.ok(Number.isNaN(fromFloat16Bits(0x7c01)))
  t.ok(Number.isNaN(fromFloat16Bits(0xfe00)))
  t.ok(Object.is(fromFloat16Bits(0x0000), 0))
  t.ok(Object.is(fromFloat16Bits(0x8000), -0))
})

t.test('every one of the 65536 halves: bits → float equals the definition, float → bits round-trips', async (t) => {
  let wrongValue = 0
  let wrongBits = 0
  let nans = 0
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = fromFloat16Bits(bits)
    const expected = naiveHalfValue(bits)
    if (Number.isNaN(expected)) {
      nans++
      if (!Number.isNaN(value)) wrongValue++
      continue
    }
    if (!Object.is(value, expected)) wrongValue++
    if (toFloat16Bits(value) !== bits) wrongBits++
  }
  t.equal(nans, 2 * 1023)
  t.equal(wrongValue, 0)
  t.equal(wrongBits, 0)
  const all = Uint16Array.from({ length: 0x10000 }, (_, bits) => bits)
  const values = float16ToFloat32(all)
  t.ok(values instanceof Float32Array)
  const back = float32ToFloat16(values)
  t.ok(back instanceof Uint16Array)
  t.equal(back.length, 0x10000)
  t.ok(back.every((bits, i) => bits === i || (Number.isNaN(values[i]) && Number.isNaN(fromFloat16Bits(bits)))), 'array forms agree')
})

t.test('a float32 exactly halfway between two halves rounds to the even one', async (t) => {
  // 1 + 2^-11 lies halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01): it goes down to the even one.
  t.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00)
  // 1 + 3·2^-11 lies halfway between 0x3c01 and 0x3c02 (even): it goes up.
  t.equal(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02)
  t.equal(toFloat16Bits(-(1 + 2 ** -11)), 0xbc00)
  // One float32 step off the tie decides it.
  t.equal(toFloat16Bits(1 + 2 ** -11 + 2 ** -23), 0x3c01)
  t.equal(toFloat16Bits(1 + 3 * 2 ** -11 - 2 ** -23), 0x3c01)
  // 2047.5 lies between 2047 (0x67ff, odd) and 2048 (0x6800): the carry reaches the exponent.
  t.equal(toFloat16Bits(2047.5), 0x6800)
  // Subnormals: 2^-25 is halfway between 0 and 2^-24, 3·2^-25 between 2^-24 and 2^-23.
  t.equal(toFloat16Bits(2 ** -25), 0x0000)
  t.equal(toFloat16Bits(3 * 2 ** -25), 0x0002)
  t.equal(toFloat16Bits(2 ** -25 * (1 + 2 ** -20)), 0x0001)
  // Halfway between the largest subnormal and the smallest normal.
  t.equal(toFloat16Bits(2047 * 2 ** -25), 0x0400)
})

t.test('float32 → half matches round-to-nearest-even by table search, on ties and on random floats', async (t) => {
  const floats: number[] = []
  for (let bits = 0; bits < 0x7bff; bits++) {
    const tie = (positives[bits] + positives[bits + 1]) / 2
    floats.push(tie, -tie)
  }
  const view = new Float32Array(1)
  const raw = new Uint32Array(view.buffer)
  let seed = 12345
  for (let i = 0; i < 100_000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    // Exponents around the half range (float32 exponents 97 to 150), any mantissa and sign.
    raw[0] = ((seed & 1) << 31) | ((97 + (seed >>> 8) % 54) << 23) | (Math.imul(seed, 2654435761) >>> 9)
    floats.push(view[0])
  }
  const input = Float32Array.from(floats)
  const got = float32ToFloat16(input)
  let wrong = 0
  let example = ''
  for (let i = 0; i < input.length; i++) {
    const expected = naiveToHalf(input[i])
    if (got[i] !== expected) {
      wrong++
      example ||= `${input[i]} → ${hex(got[i])}, expected ${hex(expected)}`
    }
  }
  t.equal(wrong, 0, example || `${input.length} values`)
})
