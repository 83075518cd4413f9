import { cpSync } from 'node:fs'
import type { Test } from 'tap'
import type { LabelledImage } from '../../src/fitting/index.js'
import { startApp } from '../helpers/app.js'
import { scratchDir, syntheticModel } from '../helpers/models.js'
import { scene, SCENE_LABELS, type Scene } from './scenes.js'

export const SIDE = 128
export const trainScenes = Array.from({ length: 24 }, (_, i) => scene(i, SIDE, SIDE))
export const valScenes = Array.from({ length: 4 }, (_, i) => scene(1000 + i, SIDE, SIDE))

/** A copy of the tiny synthetic model, so that heads written into it stay in this test. */
export function modelCopy (t: Test): string {
  const dir = scratchDir(t)
  cpSync(syntheticModel({ preset: 'tiny' }), dir, { recursive: true })
  return dir
}

export const pairs = (scenes: Scene[], target: 'mask' | 'depth', shuffle = false): LabelledImage[] => scenes.map((s, i) => ({
  file: `images/${i}.png`,
  image: s.png,
  [target]: (shuffle ? scenes[(i + 7) % scenes.length] : s)[target]
}))

/** mIoU and pixel accuracy of label maps against the scenes' true labels (the unlabelled edge ring excluded). */
export function segmentationScore (predicted: Uint8Array[], scenes: Scene[]): { miou: number, accuracy: number } {
  const k = SCENE_LABELS.length
  const hit = new Array(k).fill(0)
  const union = new Array(k).fill(0)
  let correct = 0
  let total = 0
  scenes.forEach((s, n) => {
    for (let i = 0; i < s.labels.length; i++) {
      const truth = s.labels[i]
      const guess = predicted[n][i]
      total += 1
      if (truth === guess) { correct += 1; hit[truth] += 1; union[truth] += 1 } else { union[truth] += 1; union[guess] += 1 }
    }
  })
  const present = union.map((u, c) => u > 0 ? hit[c] / u : undefined).filter((v) => v !== undefined) as number[]
  return { miou: present.reduce((a, b) => a + b, 0) / present.length, accuracy: correct / total }
}

export async function served (t: Test, model: string, route: string, scenes: Scene[]): Promise<Buffer[]> {
  const app = await startApp(t, model)
  const bodies: Buffer[] = []
  for (const s of scenes) {
    const response = await app.inject({ method: 'POST', url: route, headers: { 'content-type': 'image/png' }, payload: s.png })
    t.equal(response.statusCode, 200, `${route} answers`)
    bodies.push(response.rawPayload)
  }
  await app.close()
  return bodies
}
