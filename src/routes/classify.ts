import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { classifyImages, resolveTopK } from '../inference/tasks/classify.js'
import { errorResponses, headErrorStatuses } from './error-responses.js'
import { imageRequestBody } from './image-body.js'
import { classifyHeaders } from './response-headers.js'
import { answer } from './schemas.js'

const ClassifyQuery = Type.Object({
  head: Type.Optional(Type.String({
    description: 'Classification head name (see GET /models); the only classification head is the default, and several need a choice. ' +
      'Example: head=shapes'
  })),
  top_k: Type.Optional(Type.Integer({
    minimum: 1,
    description: 'How many classes to answer per image, best first: 1 to the head\'s class count (default 5, or all the classes of a head with fewer). ' +
      'Example: top_k=3'
  }))
}, { additionalProperties: false })

export const ScoredLabels = Type.Object({
  labels: Type.Array(Type.Object({
    label: Type.String({ description: 'A class name from the head\'s head.json' }),
    score: Type.Number({ description: 'The head\'s probability for it (0..1)' })
  }), { description: 'The top_k classes, highest score first' })
})

const ClassifyResponse = Type.Union([
  ScoredLabels,
  Type.Array(ScoredLabels, { description: 'Several images: one entry per image, in upload order' })
], { description: 'One image: its labels; several images: an array of them, in upload order' })

const classifyExample = {
  labels: [
    { label: 'circle', score: 0.912 },
    { label: 'square', score: 0.061 },
    { label: 'triangle', score: 0.027 }
  ]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/classify', {
    config: { admits: true },
    schema: {
      summary: 'Class scores from a classification head',
      description: 'Runs the backbone on each image at the processor\'s size (as /embed does by default) and feeds its CLS token ' +
        'and patch grid to a classification head (task "classification" in head.json), one fitted with POST /heads/{name}?task=classification or one shipped in the model folder.',
      tags: ['heads'],
      requestBody: imageRequestBody,
      querystring: ClassifyQuery,
      response: {
        200: answer({ description: 'The best classes of each image', headers: classifyHeaders, json: { schema: ClassifyResponse, example: classifyExample } }),
        ...errorResponses(headErrorStatuses)
      }
    }
  }, async (request, reply) => {
    const { head: headName, top_k: requestedTopK } = request.query
    const images = await request.images()
    const admitted = request.admit(reply)
    const head = admitted.engine.heads.pick('classification', headName)
    const topK = resolveTopK(head, requestedTopK)
    const results = await admitted.run((engine, context) => classifyImages(engine, images, head, topK, context))
    reply.header('x-head', head.name).header('x-classes', String(head.labels?.length ?? 0))
    const answers = results.map((labels) => ({ labels }))
    return answers.length === 1 ? answers[0] : answers
  })
}

export default route
