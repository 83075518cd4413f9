import { basename, dirname } from 'node:path'

/** What a benchmark needs of a transformers.js image-feature-extraction pipeline. */
export interface TransformersPeer {
  version: string
  loadMs: number
  processorClass: string
  modelClass: string
  /** Decode, preprocess and run one JPEG, as a user of the pipeline would: the pooled (CLS) embedding. */
  embed: (jpeg: Buffer) => Promise<Float32Array>
  /** The processor's pixel_values for one JPEG, [1, 3, H, W]. */
  pixelValues: (jpeg: Buffer) => Promise<{ data: Float32Array, dims: number[] }>
  /** The model alone on given pixels: the CLS token of last_hidden_state. */
  clsOfPixels: (pixels: Float32Array, dims: number[]) => Promise<Float32Array>
  dispose: () => Promise<void>
}

/**
 * transformers.js on the bench's own model folder, strictly offline: env.localModelPath is the folder's parent and
 * the model id its name, remote models are off, and `dtype: 'fp32'` with `subfolder: 'onnx'` picks onnx/model.onnx,
 * `use_external_data_format: true` its onnx/model.onnx_data. Threads as the service's; everything else as the
 * library sets it. Imported lazily so that sections without it never load the library.
 */
export async function loadTransformersPeer (modelDir: string, options: { threads: number }): Promise<TransformersPeer> {
  const { env, pipeline, RawImage, Tensor } = await import('@huggingface/transformers')
  env.localModelPath = `${dirname(modelDir)}/`
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.useFSCache = false
  const started = performance.now()
  const extractor = await pipeline('image-feature-extraction', basename(modelDir), {
    local_files_only: true,
    device: 'cpu',
    dtype: 'fp32',
    subfolder: 'onnx',
    use_external_data_format: true,
    session_options: { intraOpNumThreads: options.threads }
  })
  const loadMs = performance.now() - started
  const image = async (jpeg: Buffer): Promise<InstanceType<typeof RawImage>> => RawImage.fromBlob(new Blob([jpeg]))
  return {
    version: env.version,
    loadMs,
    processorClass: extractor.processor?.image_processor?.constructor.name ?? 'none',
    modelClass: extractor.model.constructor.name,
    embed: async (jpeg) => (await extractor(new Blob([jpeg]), { pool: true })).data as Float32Array,
    pixelValues: async (jpeg) => {
      const { pixel_values: pixels } = await extractor.processor(await image(jpeg))
      return { data: pixels.data as Float32Array, dims: pixels.dims }
    },
    clsOfPixels: async (pixels, dims) => {
      // A copy: the service's tensors live in shared memory, which onnxruntime-node's feeds refuse ("Invalid argument").
      const { last_hidden_state: state } = await extractor.model({ pixel_values: new Tensor('float32', new Float32Array(pixels), dims) })
      return (state.data as Float32Array).slice(0, state.dims[2])
    },
    dispose: async () => { await extractor.dispose() }
  }
}
