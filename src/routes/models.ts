import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const ModelsResponse = Type.Object({
  backbone: Type.Object({
    name: Type.String(),
    type: Type.String({ description: 'model_type from config.json' }),
    patch_size: Type.Integer(),
    hidden_size: Type.Integer(),
    registers: Type.Integer(),
    variant: Type.String({ description: 'fp32 is onnx/model.onnx; others onnx/model_<variant>.onnx' }),
    execution_provider: Type.String(),
    synthetic: Type.Boolean({ description: 'true: random weights made by this project; answers mean nothing' }),
    input_size: Type.Object({ height: Type.Integer(), width: Type.Integer() }, { description: 'What /embed resizes to' }),
    dense_max_side: Type.Integer({ description: 'Longest side dense requests run at without tiling' }),
    image_mean: Type.Array(Type.Number()),
    image_std: Type.Array(Type.Number())
  }),
  heads: Type.Array(Type.Object({
    name: Type.String(),
    task: Type.String(),
    inputs: Type.Array(Type.String()),
    labels: Type.Optional(Type.Array(Type.String())),
    unit: Type.Optional(Type.String())
  }))
})

const route: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/models', {
    schema: {
      summary: 'The backbone and heads being served',
      tags: ['service'],
      response: { 200: ModelsResponse, 503: Type.Ref('ErrorBody') }
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
        unit: head.unit
      }))
    }
  })
}

export default route
