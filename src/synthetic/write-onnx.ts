import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { basename } from 'node:path'
import type { GraphBuilder } from './onnx-builder.js'

/** Writes `file` and, with external data, `file + "_data"` beside it (the onnx-community layout). */
export function writeOnnx (graph: GraphBuilder, file: string, externalData: boolean): void {
  const dataFile = `${file}_data`
  const encoded = graph.encode({ externalDataLocation: externalData ? basename(dataFile) : undefined })
  writeFileSync(file, encoded.model)
  if (encoded.externalData === undefined) return
  const fd = openSync(dataFile, 'w')
  try {
    for (const chunk of encoded.externalData) writeSync(fd, chunk)
  } finally {
    closeSync(fd)
  }
}
