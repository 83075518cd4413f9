import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { InferenceSession } from 'onnxruntime-node'
import type { Log } from '../log.js'
import { readJson } from '../model-folder.js'
import { ModelFolderError } from '../model-folder-error.js'
import { createSession, type SessionSettings } from '../onnx-session.js'
import type { OrtHost, SessionLike } from '../ort-worker/ort-host.js'
import { backboneMismatch, describeBackbone, parseHeadConfig, type BackboneRecord } from './head-config.js'
import { Head, headInputs, type HeadInput } from './head.js'

export interface BackboneShape {
  hiddenSize: number
  patchSize: number
  /** The served backbone, compared with the one a fitted head records; absent: no comparison. */
  identity?: BackboneRecord
}

export interface HeadPlaces {
  /** The model folder; its heads/ are part of the model. */
  modelDir: string
  /** Where fitted heads live (HEADS_DIR); undefined or the model's heads/ itself: one place. */
  headsDir?: string
}

/** The folder fitted heads are written to: HEADS_DIR, or the model folder's heads/. */
export const fittedHeadsDir = (places: HeadPlaces): string => resolve(places.headsDir ?? join(places.modelDir, 'heads'))

/**
 * Loads every `heads/<name>/` of a model folder, then every head in HEADS_DIR, and checks that each fits the backbone
 * (input names, channels, output rank and label count) with a probe run, so a misfit head stops the start instead of
 * failing requests. A name in both places stops the start (neither silently shadows the other). A head in HEADS_DIR
 * fitted on another backbone is skipped with a warning (HEADS_DIR may be a volume shared by several models; switching
 * MODEL must not stop the start), one in the model folder stops the start.
 */
export async function loadHeads (host: OrtHost, places: string | HeadPlaces, backbone: BackboneShape, settings: SessionSettings, log: Log): Promise<Head[]> {
  const { modelDir, headsDir } = typeof places === 'string' ? { modelDir: places, headsDir: undefined } : places
  const modelHeads = resolve(join(modelDir, 'heads'))
  const fittedDir = fittedHeadsDir({ modelDir, headsDir })
  const heads: Head[] = []
  try {
    for (const name of headFolders(modelHeads)) {
      heads.push(await loadHeadFolder(host, join(modelHeads, name), name, backbone, settings, log, fittedDir === modelHeads))
    }
    if (fittedDir !== modelHeads) {
      for (const name of headFolders(fittedDir)) {
        const dir = join(fittedDir, name)
        const clash = heads.find((h) => h.name === name)
        if (clash !== undefined) {
          throw new ModelFolderError(`head "${name}" is both in the model folder (${clash.source.dir}) and in HEADS_DIR (${dir}); ` +
            'rename or remove one of them')
        }
        const refusal = foreignBackbone(dir, name, backbone)
        if (refusal !== undefined) {
          log.warn({ head: name, dir }, `head not served: ${refusal}`)
          continue
        }
        heads.push(await loadHeadFolder(host, dir, name, backbone, settings, log, true))
      }
    }
  } catch (error) {
    await Promise.all(heads.map(async (head) => head.release()))
    throw error
  }
  return heads
}

const headFolders = (dir: string): string[] => existsSync(dir)
  ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort()
  : []

/** Why a HEADS_DIR head fitted on another backbone is not served, or undefined when it may be loaded. */
function foreignBackbone (dir: string, name: string, backbone: BackboneShape): string | undefined {
  const file = join(dir, 'head.json')
  if (!existsSync(file) || backbone.identity === undefined) return undefined
  const recorded = parseHeadConfig(readJson(file), file).backbone
  if (recorded === undefined) return undefined
  const mismatch = backboneMismatch(recorded, backbone.identity)
  return mismatch === undefined ? undefined : `head "${name}" (${dir}): ${mismatch}`
}

/**
 * One head folder through every check of the start-up: head.json, the graph's inputs against the backbone, the
 * backbone it was fitted on, and a probe run. Fitted heads enter the registry at run time through here too.
 */
export async function loadHeadFolder (host: OrtHost, dir: string, name: string, backbone: BackboneShape, settings: SessionSettings, log: Log, inHeadsDir: boolean): Promise<Head> {
  const config = parseHeadConfig(readJson(join(dir, 'head.json')), join(dir, 'head.json'))
  const file = join(dir, 'model.onnx')
  const fail = (problem: string): never => { throw new ModelFolderError(`head "${name}" (${file}): ${problem}`) }
  if (config.backbone !== undefined && backbone.identity !== undefined) {
    const mismatch = backboneMismatch(config.backbone, backbone.identity)
    if (mismatch !== undefined) fail(mismatch)
    if (config.backbone.variant !== backbone.identity.variant) {
      log.warn({ head: name, fitted: describeBackbone(config.backbone), served: describeBackbone(backbone.identity) },
        'head fitted on another variant of this backbone: its answers may differ slightly from its recorded metrics')
    }
  }
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
    const head = new Head(name, config, inputs, session, session.outputNames[0], { dir: resolve(dir), inHeadsDir })
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
  if (!inputs.includes('patch_features') && !inputs.includes('pixel_values') && !inputs.includes('cls_token')) {
    fail('it takes none of patch_features, cls_token, pixel_values')
  }
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
  if (head.task === 'classification') {
    if (output.rank !== 2) fail('a classification head outputs probabilities [B, K]; this one has rank ' + String(output.rank))
    if (output.planes !== head.labels?.length) fail(`it outputs ${output.planes} classes but head.json lists ${head.labels?.length} labels`)
  } else if (output.rank === 2) {
    fail(`a ${head.task} head outputs a map, [B, K, h, w] or [B, h, w]; this one outputs [B, K]`)
  }
}
