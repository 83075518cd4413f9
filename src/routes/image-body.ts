import { Type, type TSchema } from 'typebox'

/**
 * A request body as OpenAPI describes it, for the documentation only. The routes have no `body` schema on
 * purpose: the content-type parsers of the image-input plugin take the bytes and Fastify must never validate
 * them; the openapi plugin copies this object into the operation as it is.
 */
export interface DocumentedRequestBody {
  description: string
  required: boolean
  content: Record<string, { schema: TSchema, encoding?: Record<string, { contentType: string }> }>
}

/** The raw-body content types the image-input plugin parses (any image/* is accepted; the bytes are sniffed). */
export const rawImageTypes = [
  'image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'application/octet-stream'
]

const imageBytes = (description: string): TSchema => Type.Unsafe({ type: 'string', format: 'binary', description })

/** The image body of every inference endpoint: raw bytes, or multipart files making one batch. */
export const imageRequestBody: DocumentedRequestBody = {
  description: 'The image as the raw body (any image/* type or application/octet-stream: the format is sniffed from ' +
    'the bytes, never taken from the header), or one or more multipart/form-data files (any field name), several ' +
    'files making one batch answered in upload order. JPEG, PNG, WebP, TIFF, GIF (first frame) and AVIF are decoded; ' +
    'EXIF orientation is applied.',
  required: true,
  content: {
    ...Object.fromEntries(rawImageTypes.map((type) => [type, { schema: imageBytes('The image file\'s bytes') }])),
    'multipart/form-data': {
      schema: Type.Object({
        image: Type.Array(imageBytes('An image file'), { description: 'One or more image files; several make a batch, answered in upload order' })
      }),
      encoding: { image: { contentType: 'image/*, application/octet-stream' } }
    }
  }
}
