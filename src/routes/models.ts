import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from './error-responses.js'
import { everyAnswerHeaders } from './response-headers.js'
import { answer } from './schemas.js'

const ModelsResponse = Type.Object({
  backbone: Type.Object({
    name: Type.String({ description: 'The model folder\'s name' }),
    type: Type.String({ description: 'model_type from config.json' }),
    family: Type.Union([Type.Literal('vit'), Type.Literal('convnext')], {
      description: 'vit: patch tokens from a ViT (dinov3_vit). convnext: the stride-32 grid of a ConvNeXt ' +
        '(dinov3_convnext), whose cls is the normed mean of its final map'
    }),
    patch_size: Type.Integer({ description: 'Pixels per cell of the feature grid: the ViT\'s patch, or the ConvNeXt\'s total stride (32)' }),
    hidden_size: Type.Integer({ description: 'C: channels of the features and length of a cls or mean embedding (a ConvNeXt\'s last hidden_sizes entry)' }),
    registers: Type.Integer({ description: 'Register tokens, left out of the patch grid and of mean pooling (0 for a ConvNeXt)' }),
    variant: Type.String({ description: 'fp32 is onnx/model.onnx; others onnx/model_<variant>.onnx' }),
    execution_provider: Type.String({ description: 'The ONNX Runtime provider the backbone runs on (cpu, cuda, webgpu)' }),
    synthetic: Type.Boolean({ description: 'true: random weights made by this project; answers mean nothing' }),
    input_size: Type.Object({ height: Type.Integer(), width: Type.Integer() }, { description: 'What /embed resizes to' }),
    dense_max_side: Type.Integer({ description: 'Longest side dense requests run at without tiling' }),
    image_mean: Type.Array(Type.Number(), { description: 'Normalisation mean per RGB channel, from preprocessor_config.json' }),
    image_std: Type.Array(Type.Number(), { description: 'Normalisation standard deviation per RGB channel' })
  }),
  heads: Type.Array(Type.Object({
    name: Type.String({ description: 'What head=, segment_head= and depth_head= take' }),
    task: Type.String({ description: 'segmentation, depth or classification' }),
    inputs: Type.Array(Type.String({ description: 'patch_features, cls_token or pixel_values' })),
    labels: Type.Optional(Type.Array(Type.String(), { description: 'Segmentation and classification: the class names, by index' })),
    unit: Type.Optional(Type.String({ description: 'Depth: the unit of its values' })),
    fitted: Type.Optional(Type.Boolean({ description: 'true: fitted by this service (POST /heads/{name}), in HEADS_DIR; DELETE /heads/{name} removes it' })),
    metrics: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'Fitted heads: the held-out metrics recorded in head.json' }))
  }), { description: 'The heads in <model>/heads/ and HEADS_DIR, checked when loaded; fitted heads join at once; empty when there are none' })
})

const modelsExample = {
  backbone: {
    name: 'dinov3-vits16-pretrain-lvd1689m-ONNX',
    type: 'dinov3_vit',
    family: 'vit',
    patch_size: 16,
    hidden_size: 384,
    registers: 4,
    variant: 'fp32',
    execution_provider: 'cpu',
    synthetic: false,
    input_size: { height: 224, width: 224 },
    dense_max_side: 1024,
    image_mean: [0.485, 0.456, 0.406],
    image_std: [0.229, 0.224, 0.225]
  },
  heads: [
    { name: 'ade20k', task: 'segmentation', inputs: ['patch_features'], labels: ['wall', 'building', 'sky', 'floor'] },
    { name: 'nyu', task: 'depth', inputs: ['patch_features', 'cls_token'], unit: 'm' }
  ]
}

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/models', {
    schema: {
      summary: 'The backbone and heads being served',
      description: 'What the service runs: the backbone (check `synthetic` before trusting any answer) and the heads ' +
        'that /segment, /depth and /analyze can use. 503 until the model is loaded.',
      tags: ['service'],
      response: {
        200: answer({ description: 'The backbone and its heads', headers: everyAnswerHeaders, json: { schema: ModelsResponse, example: modelsExample } }),
        ...errorResponses([503, 500])
      }
    }
  }, async () => {
    const engine = app.modelHost.require()
    const { folder, backbone } = engine
    const resize = folder.processor.resize
    const inputSize = resize.kind === 'exact' ? resize : resize.kind === 'shortest-edge' ? (resize.crop ?? { height: resize.shortestEdge, width: resize.shortestEdge }) : { height: 0, width: 0 }
    return {
      backbone: {
        name: folder.name,
        type: folder.config.modelType,
        family: folder.config.family,
        patch_size: folder.config.patchSize,
        hidden_size: folder.config.hiddenSize,
        registers: folder.config.registers,
        variant: folder.variant,
        execution_provider: backbone.provider,
        synthetic: folder.config.synthetic,
        input_size: { height: inputSize.height, width: inputSize.width },
        dense_max_side: engine.denseMaxSide,
        image_mean: folder.processor.mean,
        image_std: folder.processor.std
      },
      heads: engine.heads.list().map((head) => ({
        name: head.name,
        task: head.task,
        inputs: head.inputs,
        labels: head.labels,
        unit: head.unit,
        ...(head.fitted ? { fitted: true, metrics: head.config.metrics ?? {} } : {})
      }))
    }
  })
}

export default route
