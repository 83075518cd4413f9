import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

export type ElementType = 'float32' | 'float16' | 'int64' | 'int8' | 'uint8'
export type Dim = number | string
export type WeightData = Float32Array | Uint16Array | BigInt64Array | Int8Array | Uint8Array

const dataTypeOf: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8
}

export type Attribute =
  | { kind: 'int', value: number }
  | { kind: 'float', value: number }
  | { kind: 'ints', value: number[] }
  | { kind: 'string', value: string }

export const int = (value: number): Attribute => ({ kind: 'int', value })
export const float = (value: number): Attribute => ({ kind: 'float', value })
export const ints = (value: number[]): Attribute => ({ kind: 'ints', value })
export const str = (value: string): Attribute => ({ kind: 'string', value })

interface Initializer {
  name: string
  type: ElementType
  dims: number[]
  bytes: Uint8Array
}

export interface EncodedModel {
  /** The ModelProto bytes (the `.onnx` file). */
  model: Uint8Array
  /** Weights stored outside the proto, when asked for (the `.onnx_data` file). */
  externalData?: Buffer[]
}

/** Keeps external tensors page-aligned, as onnx's own converter does, so that runtimes may map them. */
const EXTERNAL_ALIGNMENT = 4096
/** Small tensors stay inline, as in real exports: shapes and scalars are not worth a seek. */
const EXTERNAL_MIN_BYTES = 1024

/** Assembles an ONNX graph node by node, with unique value names, and encodes it. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = []
  private readonly initializers: Initializer[] = []
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = []
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = []
  private counter = 0
  /** Operator domains beyond the standard one (com.microsoft contrib ops), each imported at version 1. */
  private readonly domains = new Set<string>()

  constructor (private readonly name: string, private readonly opset = 17) {}

  input (name: string, type: ElementType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape))
    return name
  }

  output (name: string, type: ElementType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape))
  }

  weight (name: string, data: WeightData, dims: number[], type: ElementType = elementTypeOf(data)): string {
    const unique = this.unique(name)
    this.initializers.push({
      name: unique,
      type,
      dims,
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    })
    return unique
  }

  int64s (name: string, values: number[]): string {
    return this.weight(name, BigInt64Array.from(values.map(BigInt)), [values.length])
  }

  scalar (name: string, value: number): string {
    return this.weight(name, Float32Array.of(value), [])
  }

  /** Adds a node and returns its output names; `outputs` may name them (a graph output, say). */
  op (opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs: string[] | number = 1, domain = ''): string[] {
    const names = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.unique(opType.toLowerCase()))
      : outputs
    if (domain !== '') this.domains.add(domain)
    this.nodes.push({
      opType,
      domain,
      name: this.unique(`${opType}_node`),
      input: inputs,
      output: names,
      attribute: Object.entries(attributes).map(([key, attribute]) => encodeAttribute(key, attribute))
    })
    return names
  }

  /** Shorthand for the common one-output node. */
  op1 (opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputName?: string, domain = ''): string {
    return this.op(opType, inputs, attributes, outputName === undefined ? 1 : [outputName], domain)[0]
  }

  encode (options: { externalDataLocation?: string } = {}): EncodedModel {
    const external: Buffer[] = []
    let offset = 0
    const tensors = this.initializers.map((init) => {
      const tensor: onnxProto.onnx.ITensorProto = { name: init.name, dims: init.dims, dataType: dataTypeOf[init.type] }
      if (options.externalDataLocation === undefined || init.bytes.byteLength < EXTERNAL_MIN_BYTES) {
        tensor.rawData = init.bytes
        return tensor
      }
      const padding = (EXTERNAL_ALIGNMENT - (offset % EXTERNAL_ALIGNMENT)) % EXTERNAL_ALIGNMENT
      if (padding > 0) external.push(Buffer.alloc(padding))
      offset += padding
      external.push(Buffer.from(init.bytes.buffer, init.bytes.byteOffset, init.bytes.byteLength))
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL
      tensor.externalData = [
        { key: 'location', value: options.externalDataLocation },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(init.bytes.byteLength) }
      ]
      offset += init.bytes.byteLength
      return tensor
    })
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'dinov3-serve synthetic',
      opsetImport: [{ domain: '', version: this.opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: tensors,
        input: this.inputs,
        output: this.outputs
      }
    })
    return {
      model: onnx.ModelProto.encode(model).finish(),
      externalData: options.externalDataLocation === undefined ? undefined : external
    }
  }

  private unique (prefix: string): string {
    this.counter += 1
    return `${prefix}_${this.counter}`
  }
}

function elementTypeOf (data: WeightData): ElementType {
  if (data instanceof Float32Array) return 'float32'
  if (data instanceof Uint16Array) return 'float16'
  if (data instanceof BigInt64Array) return 'int64'
  if (data instanceof Int8Array) return 'int8'
  return 'uint8'
}

function valueInfo (name: string, type: ElementType, shape: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: dataTypeOf[type],
        shape: { dim: shape.map((d) => typeof d === 'number' ? { dimValue: d } : { dimParam: d }) }
      }
    }
  }
}

function encodeAttribute (name: string, attribute: Attribute): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto
  switch (attribute.kind) {
    case 'int': return { name, type: AttributeType.INT, i: attribute.value }
    case 'float': return { name, type: AttributeType.FLOAT, f: attribute.value }
    case 'ints': return { name, type: AttributeType.INTS, ints: attribute.value }
    case 'string': return { name, type: AttributeType.STRING, s: new TextEncoder().encode(attribute.value) }
  }
}
