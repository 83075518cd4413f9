/**
 * libvips cannot resume a decode: every band cut out of a file is decoded from the file's first row. Decoding one
 * band per row of windows would make a tall image cost the square of its height (a 20 × 100000 JPEG of a few kB,
 * minutes of work). Rows of windows are grouped into strips of at most STRIP_PIXELS decoded pixels instead: a
 * picture that fits one strip is decoded once, and the largest one allowed (MAX_PIXELS) some ten strips, so the
 * decoding stays within a small constant of one pass while memory stays bounded by the strip, not the image.
 */
export const STRIP_PIXELS = 16 * 1024 * 1024

export interface Strip {
  top: number
  height: number
  /** The tops of the rows of windows whose pixels lie inside the strip. */
  rows: number[]
}

/** Groups the rows of windows (tops ascending) into strips, each at least one row of windows tall. */
export function planStrips (rowTops: number[], windowHeight: number, image: { width: number, height: number }, stripPixels = STRIP_PIXELS): Strip[] {
  const bottomOf = (top: number): number => Math.min(top + windowHeight, image.height)
  const strips: Strip[] = []
  for (const top of rowTops) {
    const current = strips.at(-1)
    if (current !== undefined && (bottomOf(top) - current.top) * image.width <= stripPixels) {
      current.rows.push(top)
      current.height = bottomOf(top) - current.top
    } else {
      strips.push({ top, height: bottomOf(top) - top, rows: [top] })
    }
  }
  return strips
}
