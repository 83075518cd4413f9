import type { ImageHeader } from '../../image/decode.js'
import type { TokenOutput } from '../batcher.js'
import type { InputGeometry } from '../geometry.js'
import type { PlanarMap } from '../resample.js'

/** One image after a dense pass: a map per target over its padded input, and how that input maps onto the image. */
export interface DenseImage {
  header: ImageHeader
  geometry: InputGeometry
  /** In the order of the targets asked for. */
  maps: PlanarMap[]
  /** The backbone's tokens of a single pass (not of a tiled one), for embeddings pooled from the same run. */
  output?: TokenOutput
}
