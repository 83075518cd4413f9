import { badRequest, ServiceError } from '../errors.js'
import type { Engine } from '../inference/engine.js'
import { readHeader } from '../image/decode.js'
import { decodeMask, depthSize, IGNORE_LABEL } from './targets.js'
import type { FitRequest, LabelledImage } from './types.js'

/** A head's name becomes a folder name: letters, digits, dot, dash and underscore, never a path. */
const HEAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const MAX_EPOCHS = 1000

export function checkHeadName (name: string): void {
  if (!HEAD_NAME.test(name)) {
    throw badRequest(`head name ${JSON.stringify(name)} is not allowed: 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit`)
  }
}

/** The classes of a classification request: as given, else the training labels in sorted order. */
export function classificationLabels (request: FitRequest): string[] {
  if (request.labels !== undefined) return request.labels
  return [...new Set(request.train.map((item) => item.label as string))].sort()
}

/**
 * The checks that can refuse a dataset before a job is accepted, each naming the file at fault: every image
 * readable, each with its pair (mask, depth map or label), the pair at the image's size, mask values inside the
 * labels (or 255), class names known, at least two classes, something to hold out.
 */
export async function checkDataset (engine: Engine, request: FitRequest): Promise<void> {
  checkHeadName(request.name)
  const { task } = request
  if (task !== 'segmentation' && task !== 'depth' && task !== 'classification') {
    throw badRequest(`task must be segmentation, depth or classification, got ${JSON.stringify(task)}`)
  }
  if (request.kind !== undefined && request.kind !== 'linear' && request.kind !== 'knn') throw badRequest(`kind must be linear or knn, got ${JSON.stringify(request.kind)}`)
  if (request.kind === 'knn' && task !== 'classification') throw badRequest('kind=knn is for classification heads only')
  if (request.epochs !== undefined && (!Number.isInteger(request.epochs) || request.epochs < 1 || request.epochs > MAX_EPOCHS)) {
    throw badRequest(`epochs must be a whole number from 1 to ${MAX_EPOCHS}, got ${request.epochs}`)
  }
  const fraction = request.valFraction
  if (fraction !== undefined && (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1)) {
    throw badRequest(`val_fraction must be at least 0 and below 1, got ${fraction}`)
  }
  if (request.train.length === 0) throw badRequest('the training set is empty: send at least two labelled images')
  if (request.val === undefined && (fraction ?? 0.2) > 0 && request.train.length < 2) {
    throw badRequest('one image cannot be both trained on and held out: send at least two, or set val_fraction=0')
  }

  const labels = task === 'classification' ? classificationLabels(request) : request.labels
  if (task !== 'depth') {
    if (labels === undefined || labels.length < 2) {
      throw badRequest(`a ${task} head needs at least 2 classes, got ${labels === undefined ? 'none' : labels.length}` +
        (task === 'segmentation' ? ' (send labels: the class names in index order)' : ''))
    }
    const duplicate = labels.find((label, i) => labels.indexOf(label) !== i)
    if (duplicate !== undefined) throw badRequest(`class "${duplicate}" is listed twice in labels`)
    if (labels.some((label) => label.length === 0)) throw badRequest('a class name is empty')
    if (task === 'segmentation' && labels.length > 65535) throw badRequest(`${labels.length} classes is more than a 16-bit mask can index`)
  }

  for (const item of [...request.train, ...(request.val ?? [])]) {
    const size = await imageSize(engine, item)
    if (task === 'segmentation') await checkMask(item, size, (labels as string[]).length)
    else if (task === 'depth') await checkDepth(item, size)
    else checkLabel(item, labels as string[])
  }
}

async function imageSize (engine: Engine, item: LabelledImage): Promise<{ width: number, height: number }> {
  try {
    return await readHeader(item.image, engine.decodeOptions)
  } catch (error) {
    if (error instanceof ServiceError) throw new ServiceError(error.code, `${item.file}: ${error.message}`)
    throw error
  }
}

async function checkMask (item: LabelledImage, size: { width: number, height: number }, classes: number): Promise<void> {
  if (item.mask === undefined) throw badRequest(`${item.file}: the image has no mask (segmentation needs an image and its mask)`)
  const file = item.targetFile ?? item.file
  const mask = await decodeMask(item.mask, file)
  if (mask.width !== size.width || mask.height !== size.height) {
    throw badRequest(`${file}: the mask is ${mask.width}×${mask.height} but its image ${item.file} is ${size.width}×${size.height}`)
  }
  let worst = -1
  for (const value of mask.data) if (value !== IGNORE_LABEL && value >= classes && value > worst) worst = value
  if (worst >= 0) {
    throw badRequest(`${file}: the mask holds label ${worst}, outside the ${classes} labels (0..${classes - 1}; ${IGNORE_LABEL} = ignore)`)
  }
}

async function checkDepth (item: LabelledImage, size: { width: number, height: number }): Promise<void> {
  if (item.depth === undefined) throw badRequest(`${item.file}: the image has no depth map (depth needs an image and its depth map)`)
  const file = item.targetFile ?? item.file
  const depth = await depthSize(item.depth, file)
  if (depth.width !== size.width || depth.height !== size.height) {
    throw badRequest(`${file}: the depth map is ${depth.width}×${depth.height} but its image ${item.file} is ${size.width}×${size.height}`)
  }
}

function checkLabel (item: LabelledImage, labels: string[]): void {
  if (item.label === undefined || item.label === '') throw badRequest(`${item.file}: the image has no label (classification needs a class name per image)`)
  if (!labels.includes(item.label)) throw badRequest(`${item.file}: unknown class "${item.label}"; the classes are ${labels.join(', ')}`)
}
