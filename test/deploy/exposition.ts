import type { Test } from 'tap'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'
import { exposedSamples } from './deploy-helpers.js'

/** The real exposition of the service after a few requests, so that labelled histograms have samples. */
export async function exposition (t: Test): Promise<Map<string, Set<string>>> {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const png = await patternPng(64, 48)
  await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  await app.inject({ method: 'POST', url: '/embed?pool=nope', headers: imageHeaders(), payload: png })
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  return exposedSamples(response.body)
}
