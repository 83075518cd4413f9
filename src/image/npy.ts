// NumPy .npy (format version 1.0) writer and a small reader for tests and clients.
// Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { endianness } from 'node:os'

export type NpyArray = Float32Array | Uint8Array | Uint16Array | Int32Array
export type NpyDtype = '<f4' | '|u1' | '<u2' | '<i4'

export interface DecodedNpy {
  dtype: NpyDtype;
  shape: number[];
  data: NpyArray;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) // \x93NUMPY
const PREAMBLE_BYTES = MAGIC.length + 2 + 2 // magic, version major/minor, uint16 header length
const HEADER_ALIGNMENT = 64
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE'

export function npyDtypeOf (data: NpyArray): NpyDtype {
  if (data instanceof Float32Array) return '<f4'
  if (data instanceof Uint16Array) return '<u2'
  if (data instanceof Int32Array) return '<i4'
  return '|u1'
}

function shapeLiteral (shape: readonly number[]): string {
  // Python tuple syntax: a one-element tuple needs its trailing comma.
  if (shape.length === 1) return `(${shape[0]},)`
  return `(${shape.join(', ')})`
}

function checkShape (shape: readonly number[], length: number): void {
  let product = 1
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw new RangeError(`npy: invalid dimension ${dim} in shape [${shape.join(', ')}]`)
    product *= dim
  }
  if (product !== length) {
    throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${product} elements but data has ${length}`)
  }
}

/** The preamble plus the space-padded header dict, whose total length is a multiple of 64. */
export function npyHeader (dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`
  const unpadded = PREAMBLE_BYTES + dict.length + 1 // +1 for the closing newline
  const padding = (HEADER_ALIGNMENT - (unpadded % HEADER_ALIGNMENT)) % HEADER_ALIGNMENT
  const headerText = dict + ' '.repeat(padding) + '\n'
  if (headerText.length > 0xffff) throw new RangeError('npy: header too long for format version 1.0')

  const header = Buffer.allocUnsafe(PREAMBLE_BYTES + headerText.length)
  MAGIC.copy(header, 0)
  header[6] = 1 // version 1.0
  header[7] = 0
  header.writeUInt16LE(headerText.length, 8)
  header.write(headerText, PREAMBLE_BYTES, 'latin1')
  return header
}

function littleEndianBytes (data: NpyArray): Buffer {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (HOST_IS_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view
  // Only big-endian hosts pay for this copy; the file format is always little-endian here.
  const swapped = Buffer.from(view)
  return data.BYTES_PER_ELEMENT === 2 ? swapped.swap16() : swapped.swap32()
}

/** Serialises a C-ordered array as a NumPy 1.0 .npy file. */
export function encodeNpy (data: NpyArray, shape: readonly number[]): Buffer {
  return encodeNpyParts([data], shape)
}

/** Arrays of one type one after another as one .npy file (a batch stacked), written once without joining them first. */
export function encodeNpyParts (parts: readonly NpyArray[], shape: readonly number[]): Buffer {
  const file = npyFileParts(parts, shape)
  return Buffer.concat(file, file.reduce((sum, part) => sum + part.length, 0))
}

/**
 * The same file as its parts, the header then each array's bytes (views of the arrays on little-endian hosts), for
 * answers sent part after part: a tiled feature map is tens of megabytes, whose joining held the event loop.
 */
export function npyFileParts (parts: readonly NpyArray[], shape: readonly number[]): Buffer[] {
  if (parts.length === 0) throw new RangeError('npy: no data')
  checkShape(shape, parts.reduce((sum, part) => sum + part.length, 0))
  return [npyHeader(npyDtypeOf(parts[0]), shape), ...parts.map(littleEndianBytes)]
}

const DTYPE_CONSTRUCTORS = {
  '<f4': Float32Array,
  '|u1': Uint8Array,
  '<u1': Uint8Array,
  '<u2': Uint16Array,
  '<i4': Int32Array,
} as const

function parseHeaderDict (text: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`npy: unreadable header ${JSON.stringify(text)}`)
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10))
  return { descr, fortranOrder: fortran === 'True', shape }
}

/** Reads the .npy files this module writes (versions 1-3, little-endian f4/u1/u2/i4, C order). */
export function decodeNpy (buf: Uint8Array): DecodedNpy {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (bytes.length < PREAMBLE_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('npy: missing \\x93NUMPY magic')
  }
  const major = bytes[6]
  const headerLengthBytes = major === 1 ? 2 : 4
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8)
  const headerStart = 8 + headerLengthBytes
  const dataStart = headerStart + headerLength
  const { descr, fortranOrder, shape } = parseHeaderDict(bytes.toString('latin1', headerStart, dataStart))
  if (fortranOrder) throw new Error('npy: fortran_order arrays are not supported')

  const Ctor = DTYPE_CONSTRUCTORS[descr as keyof typeof DTYPE_CONSTRUCTORS]
  if (Ctor === undefined) throw new Error(`npy: unsupported dtype ${descr}`)
  const count = shape.reduce((a, b) => a * b, 1)
  const byteLength = count * Ctor.BYTES_PER_ELEMENT
  if (dataStart + byteLength > bytes.length) throw new Error('npy: truncated data')

  // Copy into a fresh buffer (Buffer.alloc never uses the pool, so offset 0 is aligned):
  // the payload's offset inside the caller's buffer need not be a multiple of the element size.
  const payload = Buffer.alloc(byteLength)
  bytes.copy(payload, 0, dataStart, dataStart + byteLength)
  if (!HOST_IS_LITTLE_ENDIAN && Ctor.BYTES_PER_ELEMENT === 2) payload.swap16()
  if (!HOST_IS_LITTLE_ENDIAN && Ctor.BYTES_PER_ELEMENT === 4) payload.swap32()
  const data = new Ctor(payload.buffer, payload.byteOffset, count)
  const dtype = (descr === '<u1' ? '|u1' : descr) as NpyDtype
  return { dtype, shape, data }
}
