/**
 * IEEE 754 half precision, bit for bit, for models whose inputs or outputs are float16:
 * Node 20 has no Float16Array, and onnxruntime-node takes their data as Uint16Array.
 */
const floatView = new Float32Array(1)
const bitsView = new Uint32Array(floatView.buffer)

export function toFloat16Bits (value: number): number {
  floatView[0] = value
  const x = bitsView[0]
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  let mantissa = x & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0)
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 0x1f) return sign | 0x7c00
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign
    mantissa |= 0x800000
    const shift = 14 - halfExponent
    return sign | roundToEven(mantissa >> shift, mantissa & ((1 << shift) - 1), 1 << (shift - 1))
  }
  // Round to nearest, ties to even, on the dropped 13 bits; a carry into the exponent is the correct result.
  return roundToEven(sign | (halfExponent << 10) | (mantissa >> 13), mantissa & 0x1fff, 0x1000)
}

/** IEEE 754's default rounding: up when the dropped bits are over half, or exactly half and the kept bits odd. */
function roundToEven (kept: number, dropped: number, half: number): number {
  return kept + (dropped > half || (dropped === half && (kept & 1) === 1) ? 1 : 0)
}

export function fromFloat16Bits (bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

export function float32ToFloat16 (values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i])
  return out
}

export function float16ToFloat32 (bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i])
  return out
}
