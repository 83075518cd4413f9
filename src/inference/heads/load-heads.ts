import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { InferenceSession } from 'onnxruntime-node'
import type { Log } from '../log.js'
import { readJson } from '../model-folder.js'
import { ModelFolderError } from '../model-folder-error.js'
import { createSession, type SessionSettings } from '../onnx-session.js'
import type { OrtHost, SessionLike } from '../ort-worker/ort-host.js'
import { parseHeadConfig } from './head-config.js'
import { Head, headInputs, type HeadInput } from './head.js'

export interface BackboneShape {
  hiddenSize: number
  patchSize: number
}

/**
 * Loads every `heads/<name>/` of a model folder and checks that each fits the backbone (input names, channels,
 * output rank and label count) with a probe run, so a misfit head stops the start instead of failing requests.
 */
export async function loadHeads (host: OrtHost, modelDir: string, backbone: BackboneShape, settings: SessionSettings, log: Log): Promise<Head[]> {
  const headsDir = join(modelDir, 'heads')
  if (!existsSync(headsDir)) return []
  const names = readdirSync(headsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  const heads: Head[] = []
  try {
    for (const name of names) heads.push(await loadHead(host, join(headsDir, name), name, backbone, settings, log))
  } catch (error) {
    await Promise.all(heads.map(async (head) => head.release()))
    throw error
  }
  return heads
}

async function loadHead (host: OrtHost, dir: string, name: string, backbone: BackboneShape, settings: SessionSettings, log: Log): Promise<Head> {
  const config = parseHeadConfig(readJson(join(dir, 'head.json')), join(dir, 'head.json'))
  const file = join(dir, 'model.onnx')
  const fail = (problem: string): never => { throw new ModelFolderError(`head "${name}" (${file}): ${problem}`) }
  if (!existsSync(file)) fail('model.onnx is missing')
  let session: SessionLike
  try {
    // Heads are light and run between backbone batches: they never spin, so they do not steal the backbone's cores.
    session = (await createSession(host, file, { ...settings, spinning: false }, log)).session
  } catch (error) {
    return fail(`cannot load: ${(error as Error).message}`)
  }
  try {
    const inputs = checkInputs(session, backbone, fail)
    if (session.outputNames.length === 0) fail('the graph has no output')
    const head = new Head(name, config, inputs, session, session.outputNames[0])
    await probe(head, backbone, fail)
    return head
  } catch (error) {
    await session.release()
    throw error
  }
}

function checkInputs (session: SessionLike, backbone: BackboneShape, fail: (problem: string) => never): HeadInput[] {
  const inputs = session.inputNames as HeadInput[]
  const unknown = inputs.filter((input) => !headInputs.includes(input))
  if (unknown.length > 0) fail(`unknown input ${unknown.map((u) => `"${u}"`).join(', ')}; a head takes ${headInputs.join(', ')}`)
  if (!inputs.includes('patch_features') && !inputs.includes('pixel_values')) fail('it takes neither patch_features nor pixel_values')
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) fail(`input "${meta.name}" is not a tensor`)
    const tensor = meta as InferenceSession.TensorValueMetadata
    if (tensor.type !== 'float32') fail(`input "${meta.name}" is ${tensor.type}; heads take float32`)
    const expectedRank = meta.name === 'cls_token' ? 2 : 4
    if (tensor.shape.length !== expectedRank) fail(`input "${meta.name}" has rank ${tensor.shape.length}, expected ${expectedRank}`)
    const channels = tensor.shape[1]
    const expected = meta.name === 'pixel_values' ? 3 : backbone.hiddenSize
    if (typeof channels === 'number' && channels !== expected) {
      fail(`input "${meta.name}" has ${channels} channels but the backbone gives ${expected}`)
    }
  }
  return inputs
}

/** One run at a small non-square grid shows the output rank and, for segmentation, the class count. */
async function probe (head: Head, backbone: BackboneShape, fail: (problem: string) => never): Promise<void> {
  const c = backbone.hiddenSize
  const [gridHeight, gridWidth] = [2, 3]
  const [height, width] = [gridHeight * backbone.patchSize, gridWidth * backbone.patchSize]
  let output
  try {
    output = await head.run({
      patchFeatures: new Float32Array(c * gridHeight * gridWidth),
      clsToken: new Float32Array(c),
      pixels: new Float32Array(3 * height * width),
      batch: 1,
      channels: c,
      gridHeight,
      gridWidth,
      height,
      width
    })
  } catch (error) {
    return fail(`a probe run failed: ${(error as Error).message}`)
  }
  if (!Number.isFinite(output.height) || !Number.isFinite(output.width)) fail('its output must be [B, K, h, w] or [B, h, w]')
  if (head.task === 'segmentation' && output.planes !== head.labels?.length) {
    fail(`it outputs ${output.planes} classes but head.json lists ${head.labels?.length} labels`)
  }
  if (head.task === 'depth' && output.planes !== 1) fail(`a depth head outputs one plane, this one outputs ${output.planes}`)
}
