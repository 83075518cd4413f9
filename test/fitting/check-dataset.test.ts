import t from 'tap'
import { checkDataset, type FitRequest, type LabelledImage } from '../../src/fitting/index.js'
import { ServiceError } from '../../src/errors.js'
import { encodeNpy } from '../../src/image/npy.js'
import { encodePng } from '../../src/image/png.js'
import { syntheticModel } from '../helpers/models.js'
import { startEngine } from './engine.js'
import { scene, SCENE_LABELS } from './scenes.js'

const a = scene(1, 64, 48)
const b = scene(2, 64, 48)
const labels = SCENE_LABELS
const gray = (data: Uint8Array | Uint16Array, width: number, height: number): Buffer => encodePng({ data, width, height, colour: 'gray' })

t.test('bad datasets are refused before a job starts, naming the file at fault', async (t) => {
  const engine = await startEngine(t, syntheticModel({ preset: 'tiny' }))
  const refusal = async (request: Partial<FitRequest>): Promise<string> => {
    const full = { task: 'segmentation', name: 'x', labels, ...request } as FitRequest
    try {
      await checkDataset(engine, full)
      return 'accepted'
    } catch (error) {
      t.ok(error instanceof ServiceError, 'a ServiceError, mapped to a status at the edge')
      return `${(error as ServiceError).status} ${(error as ServiceError).message}`
    }
  }
  const seg = (file: string, image: Buffer, mask?: Buffer, targetFile?: string): LabelledImage => ({ file, image, mask, targetFile })
  const good = [seg('images/a.png', a.png, a.mask, 'masks/a.png'), seg('images/b.png', b.png, b.mask, 'masks/b.png')]

  t.equal(await refusal({ train: good }), 'accepted')
  t.match(await refusal({ train: [] }), /^400 the training set is empty/)
  t.match(await refusal({ train: [good[0]] }), /^400 one image cannot be both trained on and held out/)
  t.equal(await refusal({ train: [good[0]], valFraction: 0 }), 'accepted')
  t.match(await refusal({ train: good, name: '../escape' }), /^400 head name "\.\.\/escape" is not allowed/)
  t.match(await refusal({ train: [good[0], seg('images/c.png', b.png)] }), /^400 images\/c\.png: the image has no mask/)
  t.match(await refusal({ train: [good[0], seg('images/c.png', b.png, gray(new Uint8Array(32 * 48), 32, 48), 'masks/c.png')] }),
    /^400 masks\/c\.png: the mask is 32×48 but its image images\/c\.png is 64×48/)
  t.match(await refusal({ train: [good[0], seg('images/c.png', b.png, gray(new Uint8Array(64 * 48).fill(7), 64, 48), 'masks/c.png')] }),
    /^400 masks\/c\.png: the mask holds label 7, outside the 4 labels \(0\.\.3; 255 = ignore\)/)
  t.equal(await refusal({ train: [good[0], seg('images/c.png', b.png, gray(new Uint8Array(64 * 48).fill(255), 64, 48), 'masks/c.png')] }), 'accepted', '255 is ignore, not a label')
  t.match(await refusal({ train: [good[0], seg('images/c.png', b.png, encodePng({ data: new Uint8Array(64 * 48 * 3), width: 64, height: 48, colour: 'rgb' }), 'masks/c.png')] }),
    /^400 masks\/c\.png: a mask must be a 1-channel \(grayscale\) PNG, this one has 3 channels/)
  t.match(await refusal({ train: [good[0], seg('images/c.png', Buffer.from('not an image'), b.mask)] }), /^415 images\/c\.png: the body is unrecognised bytes/)
  t.match(await refusal({ train: [good[0], seg('images/c.png', a.png.subarray(0, 40), b.mask)] }), /^422 images\/c\.png: /)
  t.match(await refusal({ train: good, labels: ['only'] }), /^400 a segmentation head needs at least 2 classes, got 1/)
  t.match(await refusal({ train: good, labels: undefined }), /^400 a segmentation head needs at least 2 classes, got none/)
  t.match(await refusal({ train: good, epochs: 0 }), /^400 epochs must be a whole number from 1 to 1000/)
  t.match(await refusal({ train: good, valFraction: 1 }), /^400 val_fraction must be at least 0 and below 1/)

  const depth = (file: string, image: Buffer, map?: Buffer, targetFile?: string): LabelledImage => ({ file, image, depth: map, targetFile })
  t.equal(await refusal({ task: 'depth', train: [depth('a.png', a.png, a.depth), depth('b.png', b.png, encodeNpy(new Float32Array(64 * 48), [48, 64]))] }), 'accepted')
  t.match(await refusal({ task: 'depth', train: [depth('a.png', a.png, a.depth), depth('b.png', b.png)] }), /^400 b\.png: the image has no depth map/)
  t.match(await refusal({ task: 'depth', train: [depth('a.png', a.png, a.depth), depth('b.png', b.png, encodeNpy(new Float32Array(48 * 64), [64, 48]), 'depth/b.npy')] }),
    /^400 depth\/b\.npy: the depth map is 48×64 but its image b\.png is 64×48/)
  t.match(await refusal({ task: 'depth', train: [depth('a.png', a.png, a.depth), depth('b.png', b.png, encodeNpy(new Uint8Array(64 * 48), [48, 64]), 'depth/b.npy')] }),
    /^400 depth\/b\.npy: a depth \.npy must be float32 \[H, W\] in metres, this one is \|u1 \[48, 64\]/)
  t.match(await refusal({ task: 'depth', kind: 'knn', train: [depth('a.png', a.png, a.depth), depth('b.png', b.png, b.depth)] }), /^400 kind=knn is for classification heads only/)

  const item = (file: string, label?: string): LabelledImage => ({ file, image: a.png, label })
  t.equal(await refusal({ task: 'classification', labels: undefined, train: [item('x/1.png', 'x'), item('y/1.png', 'y')] }), 'accepted')
  t.match(await refusal({ task: 'classification', labels: undefined, train: [item('x/1.png', 'x'), item('x/2.png', 'x')] }), /^400 a classification head needs at least 2 classes, got 1/)
  t.match(await refusal({ task: 'classification', labels: ['x', 'y'], train: [item('x/1.png', 'x'), item('z/1.png', 'z')] }), /^400 z\/1\.png: unknown class "z"; the classes are x, y/)
  t.match(await refusal({ task: 'classification', labels: ['x', 'y'], train: [item('x/1.png', 'x'), item('2.png')] }), /^400 2\.png: the image has no label/)
})
