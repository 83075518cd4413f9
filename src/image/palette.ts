// Deterministic class-label colours for segmentation maps and their legends.

const VOC_SIZE = 256
const GOLDEN_RATIO_CONJUGATE = 0.6180339887498949

/**
 * Pascal VOC palette entry: the label's bits are dealt out three at a time to R, G and B,
 * most significant colour bit first, so small labels differ in the high bits (far apart colours).
 */
function vocColour (label: number): [number, number, number] {
  let r = 0
  let g = 0
  let b = 0
  for (let shift = 7, c = label; c > 0 && shift >= 0; shift--, c >>= 3) {
    r |= (c & 1) << shift
    g |= ((c >> 1) & 1) << shift
    b |= ((c >> 2) & 1) << shift
  }
  return [r, g, b]
}

function hsvToRgb (h: number, s: number, v: number): [number, number, number] {
  const sector = Math.floor(h * 6)
  const f = h * 6 - sector
  const p = v * (1 - s)
  const q = v * (1 - f * s)
  const t = v * (1 - (1 - f) * s)
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][sector % 6]
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)]
}

/**
 * Past the VOC range the bit-interleave yields near-identical dark colours, so hues step by the
 * golden ratio (neighbouring labels land far apart on the colour wheel) while saturation and
 * value cycle through a few levels to separate labels whose hues end up close.
 */
function extendedColour (label: number): [number, number, number] {
  const hue = (label * GOLDEN_RATIO_CONJUGATE) % 1
  const saturation = [0.9, 0.6, 0.75][label % 3]
  const value = [0.95, 0.75, 0.55, 0.85][Math.floor(label / 3) % 4]
  return hsvToRgb(hue, saturation, value)
}

/** RGB triplets for labels 0..count-1: VOC colours for the first 256 (0 is black), then golden-ratio hues. */
export function labelPalette (count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`palette: invalid count ${count}`)
  const palette = new Uint8Array(count * 3)
  for (let label = 0; label < count; label++) {
    palette.set(label < VOC_SIZE ? vocColour(label) : extendedColour(label), label * 3)
  }
  return palette
}

/** '#rrggbb' for a legend entry. */
export function hexColour (palette: Uint8Array, label: number): string {
  if (!Number.isInteger(label) || label < 0 || label * 3 + 2 >= palette.length) {
    throw new RangeError(`palette: label ${label} outside a palette of ${palette.length / 3} colours`)
  }
  const hex = (v: number) => v.toString(16).padStart(2, '0')
  return `#${hex(palette[label * 3])}${hex(palette[label * 3 + 1])}${hex(palette[label * 3 + 2])}`
}

/** Paints a label map as RGB; labels without a palette entry are painted black. */
export function applyPalette (labels: Uint8Array | Uint16Array | Int32Array, palette: Uint8Array): Uint8Array {
  const colours = palette.length / 3
  const rgb = new Uint8Array(labels.length * 3)
  for (let i = 0, o = 0; i < labels.length; i++, o += 3) {
    const label = labels[i]
    if (label < 0 || label >= colours) continue
    const p = label * 3
    rgb[o] = palette[p]
    rgb[o + 1] = palette[p + 1]
    rgb[o + 2] = palette[p + 2]
  }
  return rgb
}
