import multipart from '@fastify/multipart'
import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import sharp from 'sharp'
import type { Config } from '../config.js'
import { ServiceError, badRequest } from '../errors.js'
import { nativeJpeg } from '../image/native-jpeg.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The uploaded images in upload order: the raw body, or every file of a multipart form. */
    images: () => Promise<Buffer[]>
  }
}

/**
 * Image bodies arrive raw (any image/* type or application/octet-stream; the format is sniffed from the bytes,
 * never trusted from the header) or as multipart files, several files making one batch.
 */
export default fp<{ config: Readonly<Config> }>(async (app, { config }) => {
  // libvips' operation cache keeps recent decoded images for reuse; a server never decodes the same upload twice.
  sharp.cache(false)
  // A warning: every JPEG then costs several times the CPU to decode (a checkout or image built without build/).
  if (config.nativeJpeg && nativeJpeg.module === undefined) {
    app.log.warn({ reason: nativeJpeg.unavailable }, 'the native JPEG decoder is not in use: every JPEG is decoded with sharp')
  }
  // Every POST takes an image: Fastify's JSON and text parsers would only turn a wrong upload into a confusing 400.
  app.removeAllContentTypeParsers()
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+$/]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_request, body, done) => done(null, body))
  }
  // What curl sends with --data-binary and no -H: an image posted the most common way deserves the fix, not a riddle.
  app.addContentTypeParser('application/x-www-form-urlencoded', (_request, _body, done) => {
    done(new ServiceError('unsupported_media_type', 'the body came as application/x-www-form-urlencoded, which is what ' +
      'curl --data-binary sends unless told otherwise: add -H \'content-type: image/jpeg\' (the image\'s own type) or ' +
      '-H \'content-type: application/octet-stream\', or send the image as a multipart file with -F image=@photo.jpg'), undefined)
  })
  await app.register(multipart, {
    limits: {
      fileSize: config.bodyLimitBytes,
      files: config.maxFilesPerRequest,
      fields: 16,
      fieldSize: 64 * 1024,
      parts: config.maxFilesPerRequest + 16
    }
  })

  app.decorateRequest('images', async function (this: FastifyRequest): Promise<Buffer[]> {
    const images = this.isMultipart() ? await multipartFiles(this, config) : [this.body]
    if (images.length === 0) throw badRequest('the multipart form holds no file; attach one or more images')
    for (const [i, image] of images.entries()) {
      if (!Buffer.isBuffer(image) || image.length === 0) {
        throw badRequest(images.length > 1 ? `file ${i + 1} is empty` : 'the request has no image: send the image bytes as the body')
      }
    }
    return images as Buffer[]
  })
}, { name: 'image-input' })

async function multipartFiles (request: FastifyRequest, config: Readonly<Config>): Promise<Buffer[]> {
  const files: Buffer[] = []
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue
      const bytes = await part.toBuffer()
      // busboy marks a file cut at the size limit instead of failing; a partial image must not be decoded.
      if (part.file.truncated) {
        throw new ServiceError('payload_too_large', `file "${part.filename}" is larger than the ${config.bodyLimitBytes} byte limit`)
      }
      files.push(bytes)
    }
  } catch (error) {
    throw malformedForm(error)
  }
  return files
}

/**
 * busboy fails a form that ends early or lacks its boundary with a plain Error ("Unexpected end of multipart
 * data", "Part terminated early…", "Multipart: Boundary not found"): the client's fault, a 400, not a 500.
 * Errors with a code (the size and count limits) keep their own mapping in the error handler.
 */
function malformedForm (error: unknown): unknown {
  if (error instanceof ServiceError || !(error instanceof Error) || (error as FastifyError).code !== undefined) return error
  return badRequest(`the multipart form cannot be read (${error.message}); send complete multipart/form-data with its boundary, or the image as the raw body`)
}
