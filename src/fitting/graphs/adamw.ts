import type { ElementType, GraphBuilder } from '../../synthetic/onnx-builder.js'

export const BETA1 = 0.9
export const BETA2 = 0.999
const EPSILON = 1e-8

/** A trained tensor: its name (the graph input), shape, and whether weight decay applies (not to biases). */
export interface Parameter {
  name: string
  shape: number[]
  decay: boolean
}

/** Names of the moments that travel with a parameter between steps, and of the updated values. */
export const firstMoment = (name: string): string => `${name}.m`
export const secondMoment = (name: string): string => `${name}.v`
export const next = (name: string): string => `${name}.next`

/** The scalar inputs of every training step: the learning rate after the schedule, and Adam's bias corrections. */
export const hyperInputs = ['learning_rate', 'weight_decay', 'bias_correction1', 'bias_correction2'] as const

/** Declares the parameters and their moments as inputs, so the caller keeps the state and the graph stays pure. */
export function parameterInputs (g: GraphBuilder, params: Parameter[], type: ElementType = 'float32'): void {
  for (const p of params) {
    g.input(p.name, type, p.shape)
    g.input(firstMoment(p.name), type, p.shape)
    g.input(secondMoment(p.name), type, p.shape)
  }
  for (const h of hyperInputs) g.input(h, 'float32', [])
}

/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW: decoupled decay p ← p·(1 − lr·wd), then
 * p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ); the bias corrections 1/(1 − βᵗ) are inputs.
 */
export function adamwStep (g: GraphBuilder, params: Parameter[], gradients: string[]): void {
  const beta1 = g.scalar('beta1', BETA1)
  const beta2 = g.scalar('beta2', BETA2)
  const oneMinusBeta1 = g.scalar('one_minus_beta1', 1 - BETA1)
  const oneMinusBeta2 = g.scalar('one_minus_beta2', 1 - BETA2)
  const epsilon = g.scalar('epsilon', EPSILON)
  const one = g.scalar('one', 1)
  const [lr, wd, bc1, bc2] = hyperInputs
  params.forEach((p, i) => {
    const grad = gradients[i]
    const m = g.op1('Add', [g.op1('Mul', [firstMoment(p.name), beta1]), g.op1('Mul', [grad, oneMinusBeta1])], {}, next(firstMoment(p.name)))
    const v = g.op1('Add', [g.op1('Mul', [secondMoment(p.name), beta2]), g.op1('Mul', [g.op1('Mul', [grad, grad]), oneMinusBeta2])], {}, next(secondMoment(p.name)))
    const direction = g.op1('Div', [g.op1('Mul', [m, bc1]), g.op1('Add', [g.op1('Sqrt', [g.op1('Mul', [v, bc2])]), epsilon])])
    const decayed = p.decay ? g.op1('Mul', [p.name, g.op1('Sub', [one, g.op1('Mul', [lr, wd])])]) : p.name
    g.op1('Sub', [decayed, g.op1('Mul', [direction, lr])], {}, next(p.name))
    g.output(next(p.name), 'float32', p.shape)
    g.output(next(firstMoment(p.name)), 'float32', p.shape)
    g.output(next(secondMoment(p.name)), 'float32', p.shape)
  })
}
