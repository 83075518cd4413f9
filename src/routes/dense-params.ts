import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import type { DenseMode } from '../inference/dense/run-dense.js'
import type { Engine } from '../inference/engine.js'
import { parseDenseSize } from './parse-size.js'
import { SizeParameter } from './schemas.js'

/**
 * The query parameters every dense endpoint shares. Parameters without a default carry their example in the
 * description, not in `examples`: Swagger UI's "Try it out" fills every example in, and a tile or a head name
 * sent by default would change or fail the request.
 */
export const denseQueryProperties = {
  size: Type.Optional(SizeParameter),
  tile: Type.Optional(Type.Integer({
    minimum: 1,
    description: 'Sliding-window inference at native resolution with square windows of this many pixels ' +
      '(from one patch to the dense cap; rounded down to the patch grid). Windows are blended without seams. ' +
      'Not with size other than native. Example: tile=512'
  })),
  overlap: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'Overlap of neighbouring windows in pixels (default a quarter of the tile, on the patch grid), ' +
      'cross-faded with a smoothstep ramp. Only with tile. Example: overlap=128'
  }))
}

export interface DenseQuery {
  size?: string
  tile?: number
  overlap?: number
}

export function parseDenseMode (query: DenseQuery, engine: Engine): DenseMode {
  const patch = engine.patchSize
  if (query.tile === undefined) {
    if (query.overlap !== undefined) throw badRequest('overlap only applies with tile; add tile=<px> or drop overlap')
    return { kind: 'whole', size: parseDenseSize(query.size, patch, engine.denseMaxSide) }
  }
  if (query.size !== undefined && query.size !== 'native') {
    throw badRequest('tile runs at native resolution; drop size, or drop tile to scale the image instead')
  }
  const overlap = query.overlap ?? Math.floor(query.tile / 4 / patch) * patch
  return { kind: 'tiled', tiling: { tile: query.tile, overlap } }
}
