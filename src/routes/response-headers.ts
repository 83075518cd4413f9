import { Type, type TSchema } from 'typebox'

/**
 * The response headers, for the OpenAPI page only: Fastify never validates or serialises headers from these.
 * Each carries one `example` (OpenAPI 3.0 allows it inside a header's schema), taken from a real answer.
 */
type HeaderDocs = Record<string, TSchema>

const milliseconds = (stage: string, example: string): TSchema =>
  Type.String({ description: `Milliseconds spent ${stage}`, example })

/** Every answer, errors included. */
export const everyAnswerHeaders: HeaderDocs = {
  'x-request-id': Type.String({ description: 'This request\'s id, as in the service log (sent back when the client set one)', example: '6ae6635e-53ae-4168-948b-99789618c9d4' }),
  'x-total-time': milliseconds('from receiving the request to sending the answer', '18.28')
}

/** Answers of the inference endpoints: where the time went. */
export const inferenceHeaders: HeaderDocs = {
  ...everyAnswerHeaders,
  'x-decode-time': milliseconds('decoding the images', '3.14'),
  'x-preprocess-time': milliseconds('resizing and normalising', '0.67'),
  'x-queue-time': milliseconds('waiting for the model (batching)', '0.43'),
  'x-inference-time': milliseconds('in the backbone and heads', '2.37'),
  'x-postprocess-time': milliseconds('pooling, resampling and encoding the answer', '6.21')
}

/** Dense answers: how the first image's patch grid maps onto it. */
export const denseHeaders: HeaderDocs = {
  ...inferenceHeaders,
  'x-patch-grid': Type.String({ description: 'The patch grid, rows x columns (h x w)', example: '32x43' }),
  'x-input-size': Type.String({ description: 'The decoded input, width x height', example: '683x512' }),
  'x-model-input-size': Type.String({ description: 'What the backbone ran on after scaling and padding, width x height', example: '688x512' }),
  'x-model-input-padding': Type.String({ description: 'Padding added at the right and bottom to reach a multiple of the patch size', example: 'right=5,bottom=0' })
}

export const segmentHeaders: HeaderDocs = {
  ...denseHeaders,
  'x-head': Type.String({ description: 'The segmentation head that answered', example: 'ade20k' }),
  'x-classes': Type.String({ description: 'Number of classes of the head', example: '150' }),
  'x-legend': Type.String({
    description: 'format=overlay only: the classes present, most pixels first, as URL-encoded label=#rrggbb joined by ;',
    example: 'sky=#008000;building=#800000;wall=#000000'
  })
}

export const depthHeaders: HeaderDocs = {
  ...denseHeaders,
  'x-head': Type.String({ description: 'The depth head that answered', example: 'nyu' }),
  'x-depth-unit': Type.String({ description: 'The head\'s unit (`relative` when it has none)', example: 'm' }),
  'x-depth-min': Type.String({ description: 'Smallest depth of the first image', example: '0.9552' }),
  'x-depth-max': Type.String({ description: 'Largest depth of the first image', example: '7.8125' }),
  'x-depth-scale': Type.String({ description: 'format=png only: depth = x-depth-offset + x-depth-scale · pixel value', example: '0.00010463' }),
  'x-depth-offset': Type.String({ description: 'format=png only: the depth of pixel value 0', example: '0.9552' })
}

export const classifyHeaders: HeaderDocs = {
  ...inferenceHeaders,
  'x-head': Type.String({ description: 'The classification head that answered', example: 'shapes' }),
  'x-classes': Type.String({ description: 'Number of classes of the head', example: '3' })
}

/** 429 and 503 tell the client when to come back. */
export const retryHeaders: HeaderDocs = {
  ...everyAnswerHeaders,
  'retry-after': Type.String({ description: 'Seconds to wait before retrying', example: '1' })
}
