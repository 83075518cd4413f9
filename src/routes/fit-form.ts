import type { FastifyError, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { badRequest, ServiceError } from '../errors.js'
import type { FitTask, LabelledImage } from '../fitting/index.js'

/** What the second part of each pair is called, per task (classification pairs a file with a text field). */
const pairPart: Record<FitTask, 'mask' | 'depth' | 'label'> = { segmentation: 'mask', depth: 'depth', classification: 'label' }

export interface FitForm {
  train: LabelledImage[]
  /** Segmentation: the `labels` field, comma-separated class names in index order. */
  labels?: string[]
}

/**
 * Reads a fitting upload, its parts in order: `image` then its `mask` (segmentation), `image` then its `depth`
 * (depth), `image` then a text field `label` (classification); segmentation also takes a text field `labels`.
 * An image without its pair, or a pair without its image, is refused naming the file. Sizes, label values and
 * class names are the fitting core's checks (checkDataset), made after this.
 */
export async function readFitForm (request: FastifyRequest, task: FitTask, config: Readonly<Config>): Promise<FitForm> {
  if (!request.isMultipart()) {
    throw new ServiceError('unsupported_media_type', `fitting takes multipart/form-data: files "image" each followed by its ${describePair(task)}`)
  }
  const pair = pairPart[task]
  const train: LabelledImage[] = []
  let labels: string[] | undefined
  let open: LabelledImage | undefined
  let bytes = 0
  const closeOpen = (): void => {
    if (open !== undefined) throw badRequest(`${open.file}: the image has no ${pair} after it; send each image followed by its ${describePair(task)}`)
  }
  try {
    const parts = request.parts({
      limits: {
        files: config.fitMaxFiles,
        fields: config.fitMaxFiles + 16,
        parts: 2 * config.fitMaxFiles + 16,
        fileSize: config.bodyLimitBytes,
        fieldSize: 1024 * 1024
      }
    })
    for await (const part of parts) {
      if (part.type === 'file') {
        const file = part.filename === '' ? `${part.fieldname} #${train.length + 1}` : part.filename
        const data = await part.toBuffer()
        bytes += data.length
        if (bytes > config.fitUploadLimitBytes) {
          throw new ServiceError('payload_too_large', `the upload is over FIT_UPLOAD_LIMIT_MB (${config.fitUploadLimitBytes / 1024 / 1024} MiB in all); fit on fewer or smaller images`)
        }
        if (data.length === 0) throw badRequest(`${file}: the file is empty`)
        if (part.fieldname === 'image') {
          closeOpen()
          open = { file, image: data }
          if (pair !== 'label') train.push(open)
        } else if (part.fieldname === pair && pair !== 'label') {
          if (open === undefined) throw badRequest(`${file}: a ${pair} without an image before it; send each image followed by its ${pair}`)
          open[pair] = data
          open.targetFile = file
          open = undefined
        } else {
          throw badRequest(`${file}: unexpected file field "${part.fieldname}"; ${task} takes files "image" each followed by its ${describePair(task)}`)
        }
      } else {
        const value = String(part.value)
        if (task === 'segmentation' && part.fieldname === 'labels') {
          labels = value.split(',').map((label) => label.trim())
        } else if (pair === 'label' && part.fieldname === 'label') {
          if (open === undefined) throw badRequest(`a label field ("${value}") without an image before it; send each image followed by its label`)
          open.label = value.trim()
          train.push(open)
          open = undefined
        } else {
          throw badRequest(`unexpected field "${part.fieldname}"; ${task} takes files "image" each followed by its ${describePair(task)}` +
            (task === 'segmentation' ? ', and a field "labels"' : ''))
        }
      }
    }
  } catch (error) {
    throw malformed(error)
  }
  closeOpen()
  if (train.length === 0) throw badRequest(`the form holds no image; send files "image" each followed by its ${describePair(task)}`)
  return { train, labels }
}

function describePair (task: FitTask): string {
  if (task === 'segmentation') return 'file "mask" (a 1-channel label PNG at the image\'s size, 255 = ignore)'
  if (task === 'depth') return 'file "depth" (a 16-bit PNG in millimetres, 0 = no value, or a float32 .npy [H,W] in metres)'
  return 'text field "label" (its class name)'
}

/** busboy's plain errors (a form cut short, no boundary) are the client's: 400; coded ones keep their mapping. */
function malformed (error: unknown): unknown {
  if (error instanceof ServiceError || !(error instanceof Error) || (error as FastifyError).code !== undefined) return error
  return badRequest(`the multipart form cannot be read (${error.message}); send complete multipart/form-data with its boundary`)
}
