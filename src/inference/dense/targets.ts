import type { Head } from '../heads/head.js'

/** What a dense pass produces a map of: the backbone's patch features, or a head's output. */
export type DenseTarget = { kind: 'features' } | { kind: 'head', head: Head }

export const featuresTarget: DenseTarget = { kind: 'features' }
export const headTarget = (head: Head): DenseTarget => ({ kind: 'head', head })
