import type { ResizePlan } from '../image/decode.js'
import type { ImageHeader } from '../image/decode.js'
import type { Processor } from './processor.js'

export interface Size {
  width: number
  height: number
}

/**
 * How an image maps onto the model's input: scaled to `content`, then padded at the bottom and right to `padded`
 * (multiples of the patch). Dense outputs are cropped back through the same mapping, so no content is ever lost.
 */
export interface InputGeometry {
  original: Size
  content: Size
  padded: Size
}

export interface Point {
  x: number
  y: number
}

/** Padding added at the right and bottom of the scaled image to reach the patch grid (as the JSON answers name it). */
export function padding ({ content, padded }: InputGeometry): { padding_right: number, padding_bottom: number } {
  return { padding_right: padded.width - content.width, padding_bottom: padded.height - content.height }
}

export const roundUpTo = (value: number, multiple: number): number => Math.ceil(value / multiple) * multiple

/** /embed follows the processor: its resize (and centre crop), padded only where its size is not a patch multiple. */
export function embedGeometry (header: ImageHeader, processor: Processor, patch: number): { plan: ResizePlan, geometry: InputGeometry } {
  const original = { width: header.width, height: header.height }
  const resize = processor.resize
  let plan: ResizePlan
  let content: Size
  if (resize.kind === 'exact') {
    plan = { kind: 'exact', width: resize.width, height: resize.height, kernel: processor.kernel }
    content = { width: resize.width, height: resize.height }
  } else if (resize.kind === 'shortest-edge') {
    const scale = resize.shortestEdge / Math.min(header.width, header.height)
    const width = Math.max(1, Math.round(header.width * scale))
    const height = Math.max(1, Math.round(header.height * scale))
    const crop = resize.crop ?? { width, height }
    plan = { kind: 'cover-crop', width, height, crop, kernel: processor.kernel }
    content = crop
  } else {
    plan = { kind: 'none' }
    content = original
  }
  return { plan, geometry: { original, content, padded: padToPatch(content, patch) } }
}

export type DenseSize = { kind: 'native' } | { kind: 'long-side', pixels: number }

/**
 * Dense work keeps the aspect: native resolution up to `maxSide` on the long side (or the requested long side),
 * then padding to the patch grid. A model exported at a fixed size is letterboxed into that size instead.
 */
export function denseGeometry (
  header: ImageHeader,
  size: DenseSize,
  maxSide: number,
  patch: number,
  kernel: Processor['kernel'],
  fixedInput?: Size
): { plan: ResizePlan, geometry: InputGeometry } {
  const original = { width: header.width, height: header.height }
  const longSide = Math.max(header.width, header.height)
  let scale = size.kind === 'native' ? Math.min(1, maxSide / longSide) : size.pixels / longSide
  if (fixedInput !== undefined) scale = Math.min(fixedInput.width / header.width, fixedInput.height / header.height)
  const content = scale === 1
    ? original
    : { width: Math.max(1, Math.round(header.width * scale)), height: Math.max(1, Math.round(header.height * scale)) }
  const plan: ResizePlan = scale === 1 ? { kind: 'none' } : { kind: 'exact', ...content, kernel }
  return { plan, geometry: { original, content, padded: fixedInput ?? padToPatch(content, patch) } }
}

export function padToPatch (size: Size, patch: number): Size {
  return { width: roundUpTo(size.width, patch), height: roundUpTo(size.height, patch) }
}
