import { Type, type TSchema } from 'typebox'
import type { ErrorCode } from '../errors.js'
import { everyAnswerHeaders, retryHeaders } from './response-headers.js'

interface ErrorExample { summary: string, value: { error: ErrorCode, message: string } }

interface ErrorDoc { description: string, examples: Record<string, ErrorExample>, headers?: Record<string, TSchema> }

const example = (summary: string, error: ErrorCode, message: string): ErrorExample => ({ summary, value: { error, message } })

/**
 * What each status means, with bodies a client really gets (the messages are those thrown in src/, with
 * sample values), so that /docs shows what to branch on and what to read.
 */
const errorDocs: Record<number, ErrorDoc> = {
  400: {
    description: 'A parameter is invalid (the message names it and its valid range), the body holds no image, or a multipart form cannot be read',
    examples: {
      bad_parameter: example('A parameter outside its values', 'bad_request', 'pool must be one of: cls, mean, cls+mean'),
      unknown_parameter: example('A parameter the endpoint does not take', 'bad_request', 'unknown querystring parameter "normalise"'),
      empty_body: example('No image in the body', 'bad_request', 'the request has no image: send the image bytes as the body'),
      out_of_range: example('A size outside its range', 'bad_request', 'size=4 is out of range: use native or a long side from 16 to 1024 pixels')
    }
  },
  401: {
    description: 'Admin routes: no `Authorization: Bearer <ADMIN_TOKEN>`, or a wrong token',
    examples: {
      missing: example('No Authorization header', 'unauthorized', 'this route needs the admin token: send Authorization: Bearer <ADMIN_TOKEN>'),
      wrong: example('A wrong token', 'unauthorized', 'the Authorization header does not carry the admin token (Authorization: Bearer <ADMIN_TOKEN>)')
    },
    headers: { ...everyAnswerHeaders, 'www-authenticate': Type.String({ description: 'The scheme to use', example: 'Bearer realm="dinov3-serve admin"' }) }
  },
  403: {
    description: 'DELETE of a head that is not a fitted one in HEADS_DIR (heads of the model folder are the operator\'s)',
    examples: {
      model_head: example('A head of the model folder', 'forbidden',
        'head "segmentation" is not a fitted head in HEADS_DIR (/models/dinov3-vits16/heads/segmentation); only heads fitted by this service can be deleted, remove others from the model folder yourself')
    }
  },
  404: {
    description: 'Unknown head (the message lists the heads), no head of this task in the model, no fitting job of that name, or (fitting routes) fitting disabled because ADMIN_TOKEN is unset',
    examples: {
      unknown_head: example('head= names no head', 'not_found', 'no head "ade20k"; heads: depth (depth), segmentation (segmentation)'),
      no_head: example('The model has no head for the task', 'not_found', 'this model has no depth head; heads: (none)'),
      fitting_disabled: example('ADMIN_TOKEN is unset', 'fitting_disabled', 'fitting heads is disabled on this service: the operator sets ADMIN_TOKEN to enable the /heads routes')
    }
  },
  409: {
    description: 'The head name is taken: a served head, a queued or running fitting job, or a head folder in HEADS_DIR',
    examples: {
      served: example('A head of that name is served', 'name_in_use', 'a head named "shapes" is already served; choose another name or DELETE /heads/shapes first'),
      job: example('A job of that name is under way', 'name_in_use', 'a fitting job for "shapes" is queued or running; follow it at /heads/shapes/job or DELETE /heads/shapes to cancel it')
    }
  },
  408: {
    description: 'The request did not arrive in full within UPLOAD_TIMEOUT_MS (headers or body sent too slowly); answered by the connection, which then closes, so only x-request-id comes with it',
    examples: {
      slow_body: example('A body that stops arriving', 'request_timeout',
        'the request did not arrive in full within 60000 ms (UPLOAD_TIMEOUT_MS); send the body without pauses')
    },
    headers: { 'x-request-id': everyAnswerHeaders['x-request-id'] }
  },
  413: {
    description: 'The body, a file or the decoded pixel count is over its limit (BODY_LIMIT_MB, MAX_FILES_PER_REQUEST, MAX_PIXELS)',
    examples: {
      pixels: example('Too many pixels (read from the header, before decoding)', 'payload_too_large',
        'the image is 100000×100000 = 10000.0 megapixels; the limit is 150.0 megapixels'),
      body: example('The body is over BODY_LIMIT_MB', 'payload_too_large', 'Request body is too large')
    }
  },
  415: {
    description: 'Not an image format this service decodes (JPEG, PNG, WebP, TIFF, GIF, AVIF), or a content type other than image/*, application/octet-stream and multipart/form-data',
    examples: {
      format: example('The bytes are no accepted image', 'unsupported_media_type',
        'the body is PDF, not an image this service decodes; send JPEG, PNG, WebP, TIFF, GIF or AVIF'),
      content_type: example('A JSON or text body', 'unsupported_media_type',
        'Unsupported Media Type: send the image as the raw body with an image/* or application/octet-stream content type, or as multipart/form-data files')
    }
  },
  422: {
    description: 'The image cannot be decoded (truncated or corrupt); fitting: an image, mask or depth map of the dataset cannot be decoded (the message names the file)',
    examples: {
      truncated: example('A truncated JPEG', 'unprocessable_image', 'the jpeg image cannot be decoded (VipsJpeg: premature end of JPEG image); is the file complete?')
    }
  },
  429: {
    description: 'Overloaded: MAX_CONCURRENT_REQUESTS are in flight, the decoded images held would pass MAX_QUEUED_PIXELS, or (fitting) a job runs and FIT_QUEUE_SIZE more wait; retry after Retry-After seconds',
    examples: {
      overloaded: example('Too many requests in flight', 'overloaded', 'the service is at its limit of 64 requests in flight; retry after the Retry-After delay'),
      pixels: example('Too many decoded pixels held', 'overloaded',
        'the service holds 15.7 of its 16.8 megapixels of decoded images (MAX_QUEUED_PIXELS); retry after the Retry-After delay'),
      fit_queue_full: example('The fitting queue is full', 'overloaded', 'a head is being fitted and 4 more wait (FIT_QUEUE_SIZE=4); retry after the Retry-After delay')
    },
    headers: retryHeaders
  },
  503: {
    description: 'Not ready (the model is loading or failed to load, or the event loop lags beyond MAX_EVENT_LOOP_DELAY_MS) or shutting down; retry after Retry-After seconds',
    examples: {
      loading: example('The model is loading', 'not_ready', 'the model is still loading; retry shortly'),
      lagging: example('The event loop lags', 'not_ready',
        'the event loop lagged 1340 ms behind, over MAX_EVENT_LOOP_DELAY_MS=1000; retry after the Retry-After delay'),
      shutting_down: example('SIGTERM received', 'shutting_down', 'the service is shutting down; retry on another replica')
    },
    headers: retryHeaders
  },
  504: {
    description: 'The request passed its deadline (REQUEST_TIMEOUT_MS, TILED_REQUEST_TIMEOUT_MS with tile)',
    examples: {
      deadline: example('Past the deadline', 'deadline_exceeded',
        'the request took longer than its 30000 ms deadline; send a smaller image or retry when the service is less busy')
    }
  },
  500: {
    description: 'Internal error; details are in the service log only, under x-request-id',
    examples: {
      internal: example('Anything unexpected', 'internal', 'internal error; it has been logged with this request\'s id')
    }
  }
}

/**
 * One error answer in OpenAPI's per-content-type form: Fastify serialises it with the shared ErrorBody schema,
 * and @fastify/swagger copies `description`, `headers` and the media object (examples included) as they are.
 */
export function errorResponse (status: number): TSchema {
  const doc = errorDocs[status]
  if (doc === undefined) throw new Error(`no documentation for status ${status}`)
  return Type.Unsafe({
    description: doc.description,
    headers: doc.headers ?? everyAnswerHeaders,
    content: { 'application/json': { schema: Type.Ref('ErrorBody'), examples: doc.examples } }
  })
}

export const errorResponses = (statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((status) => [status, errorResponse(status)]))

/** What every image endpoint can answer besides 200. */
export const imageErrorStatuses = [400, 408, 413, 415, 422, 429, 503, 504, 500]

/** The endpoints that pick a head also answer 404 for an unknown one. */
export const headErrorStatuses = [400, 404, 408, 413, 415, 422, 429, 503, 504, 500]
