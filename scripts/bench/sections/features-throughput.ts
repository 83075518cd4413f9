import { endpointAgainstCeiling, type CeilingComparison } from '../against-ceiling.js'
import { renderCeiling } from '../ceiling-report.js'
import { photoJpeg } from '../fixtures.js'

export type FeaturesThroughput = CeilingComparison

/**
 * /features (npy, the default format) on a 512×512 JPEG against the raw session at 512²: at native resolution a
 * 512² image is already on the 16-pixel patch grid, so the service feeds the backbone exactly the ceiling's tensor.
 */
export async function featuresThroughput (model: string, options: { seconds: number, rounds: number, warmupSeconds: number, concurrencies: number[], batches: number[], env: Record<string, string> }): Promise<FeaturesThroughput> {
  return endpointAgainstCeiling(model, { path: '/features', body: await photoJpeg(512, 512), contentType: 'image/jpeg', size: 512, ...options })
}

export function renderFeatures (features: FeaturesThroughput): string[] {
  return renderCeiling(features, {
    input: 'a 512×512 JPEG at native resolution, answered as a float32 [384, 32, 32] .npy (1.5 MiB)',
    targets: 'Each answer is a 1.5 MiB .npy that the service writes and the client reads; the ceiling has no such cost.'
  })
}
