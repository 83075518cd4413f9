import t from 'tap'
import type { RgbImage } from '../../src/image/decode.js'
import { ModelFolderError } from '../../src/inference/model-folder-error.js'
import { normalisationTable, toPixelTensor } from '../../src/inference/normalize.js'
import { parseProcessor, type Processor } from '../../src/inference/processor.js'

const FILE = '/models/dinov3/preprocessor_config.json'

/** As in the DINOv3 exports on the Hugging Face hub. */
const dinov3 = {
  crop_size: null,
  data_format: 'channels_first',
  default_to_square: true,
  do_center_crop: null,
  do_convert_rgb: null,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.485, 0.456, 0.406],
  image_processor_type: 'DINOv3ViTImageProcessorFast',
  image_std: [0.229, 0.224, 0.225],
  resample: 2,
  rescale_factor: 0.00392156862745098,
  size: { height: 224, width: 224 }
}

t.test('a DINOv3 processor config', async (t) => {
  t.same(parseProcessor(dinov3, FILE), {
    resize: { kind: 'exact', height: 224, width: 224 },
    kernel: 'linear',
    rescaleFactor: 0.00392156862745098,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225]
  })
})

t.test('the satellite models\' mean and std', async (t) => {
  const processor = parseProcessor({ ...dinov3, image_mean: [0.430, 0.411, 0.296], image_std: [0.213, 0.156, 0.143] }, FILE)
  t.same(processor.mean, [0.430, 0.411, 0.296])
  t.same(processor.std, [0.213, 0.156, 0.143])
})

t.test('do_normalize false, do_rescale false, defaults for missing keys', async (t) => {
  const raw = parseProcessor({ ...dinov3, do_normalize: false, do_rescale: false }, FILE)
  t.same(raw.mean, [0, 0, 0], 'no normalisation: mean 0 whatever the file says')
  t.same(raw.std, [1, 1, 1])
  t.equal(raw.rescaleFactor, 1)
  const bare = parseProcessor({ size: { height: 32, width: 48 } }, FILE)
  t.same(bare, { resize: { kind: 'exact', height: 32, width: 48 }, kernel: 'linear', rescaleFactor: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] })
  t.same(parseProcessor({ size: 64, image_mean: 0.5, image_std: 0.25 }, FILE), {
    resize: { kind: 'exact', height: 64, width: 64 }, kernel: 'linear', rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]
  }, 'a single number for size, mean and std')
  t.same(parseProcessor({ ...dinov3, do_resize: false, size: 'ignored' }, FILE).resize, { kind: 'none' })
})

t.test('PIL resample codes map to libvips kernels', async (t) => {
  const kernels = [0, 1, 2, 3, 4, 5, 99].map((resample) => parseProcessor({ ...dinov3, resample }, FILE).kernel)
  t.same(kernels, ['nearest', 'lanczos3', 'linear', 'cubic', 'linear', 'cubic', 'linear'])
})

t.test('shortest edge, with and without a centre crop', async (t) => {
  const dinov2 = { ...dinov3, size: { shortest_edge: 256 }, do_center_crop: true, crop_size: { height: 224, width: 224 }, resample: 3 }
  t.same(parseProcessor(dinov2, FILE).resize, { kind: 'shortest-edge', shortestEdge: 256, crop: { height: 224, width: 224 } })
  t.equal(parseProcessor(dinov2, FILE).kernel, 'cubic')
  t.same(parseProcessor({ ...dinov2, do_center_crop: false }, FILE).resize, { kind: 'shortest-edge', shortestEdge: 256, crop: undefined })
  t.same(parseProcessor({ ...dinov2, crop_size: undefined }, FILE).resize, { kind: 'shortest-edge', shortestEdge: 256, crop: undefined })
  t.same(parseProcessor({ ...dinov2, crop_size: null }, FILE).resize, { kind: 'shortest-edge', shortestEdge: 256, crop: undefined },
    'crop_size null, as the hub writes it, is no crop (not a TypeError)')
})

t.test('bad configs throw a ModelFolderError naming the file', async (t) => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...dinov3, image_mean: [0.5, 0.5] }, /"image_mean" must be three numbers, found \[0\.5,0\.5\]/],
    [{ ...dinov3, image_mean: 'imagenet' }, /"image_mean" must be three numbers/],
    [{ ...dinov3, image_std: [0.2, 'x', 0.2] }, /"image_std" must be three numbers/],
    [{ ...dinov3, image_std: [0.2, 0, 0.2] }, /"image_std" must be positive, found \[0\.2,0,0\.2\]/],
    [{ ...dinov3, image_std: -1 }, /"image_std" must be positive/],
    [{ ...dinov3, size: undefined }, /"size" must be \{"height","width"\} or \{"shortest_edge"\}, found undefined/],
    [{ ...dinov3, size: { height: 224 } }, /"size" must be/],
    [{ ...dinov3, size: { height: 224, width: 0 } }, /"size" must be/],
    [{ ...dinov3, size: { height: 22.5, width: 22.5 } }, /"size" must be/],
    [{ ...dinov3, size: -3 }, /"size" must be .*found -3/],
    [{ ...dinov3, size: { shortest_edge: '256' } }, /"size" must be/]
  ]
  for (const [raw, message] of bad) {
    let error: unknown
    try {
      parseProcessor(raw, FILE)
    } catch (e) {
      error = e
    }
    t.ok(error instanceof ModelFolderError, `throws a ModelFolderError for ${message}`)
    t.match((error as Error).message, message)
    t.ok((error as Error).message.startsWith(`${FILE}: `), 'the message starts with the file')
  }
})

/** The processor's formula written out: (v · rescale − mean) / std, CHW, zeros past the image. */
function byHand (image: RgbImage, processor: Processor, paddedWidth: number, paddedHeight: number): Float32Array {
  const out = new Float32Array(3 * paddedWidth * paddedHeight)
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const v = image.data[(y * image.width + x) * 3 + c]
        out[(c * paddedHeight + y) * paddedWidth + x] = (v * processor.rescaleFactor - processor.mean[c]) / processor.std[c]
      }
    }
  }
  return out
}

function rgb (width: number, height: number): RgbImage {
  const data = Buffer.alloc(width * height * 3)
  for (let i = 0; i < data.length; i++) data[i] = (i * 53 + (i % 3) * 17) % 256
  data[0] = 0
  data[1] = 255
  return { data, width, height }
}

t.test('normalisationTable holds the normalised value of every byte per channel', async (t) => {
  const processor = parseProcessor(dinov3, FILE)
  const table = normalisationTable(processor)
  t.equal(table.length, 3)
  for (let c = 0; c < 3; c++) {
    t.equal(table[c].length, 256)
    t.ok(table[c].every((value, v) => value === Math.fround((v * processor.rescaleFactor - processor.mean[c]) / processor.std[c])), `channel ${c}`)
  }
  t.equal(table[0][0], Math.fround(-0.485 / 0.229))
  t.equal(table[2][255], Math.fround((1 - 0.406) / 0.225))
})

t.test('toPixelTensor equals the formula by hand, CHW, same size', async (t) => {
  for (const config of [dinov3, { ...dinov3, image_mean: [0.430, 0.411, 0.296], image_std: [0.213, 0.156, 0.143] }, { ...dinov3, do_normalize: false }]) {
    const processor = parseProcessor(config, FILE)
    const image = rgb(5, 4)
    const got = toPixelTensor(image, normalisationTable(processor), { width: 5, height: 4 })
    t.same(Array.from(got), Array.from(byHand(image, processor, 5, 4)))
  }
  // Spot checks: pixel (x 0, y 0) is R 0, G 255; channel planes are width·height apart.
  const processor = parseProcessor(dinov3, FILE)
  const got = toPixelTensor(rgb(5, 4), normalisationTable(processor), { width: 5, height: 4 })
  t.equal(got[0], Math.fround(-0.485 / 0.229))
  t.equal(got[20], Math.fround((1 - 0.456) / 0.224))
})

t.test('toPixelTensor pads with zeros at the bottom and right when padded is larger', async (t) => {
  const processor = parseProcessor(dinov3, FILE)
  const image = rgb(5, 3)
  const padded = { width: 8, height: 6 }
  const got = toPixelTensor(image, normalisationTable(processor), padded)
  t.equal(got.length, 3 * 8 * 6)
  t.same(Array.from(got), Array.from(byHand(image, processor, 8, 6)))
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        if (x >= 5 || y >= 3) t.equal(got[(c * 6 + y) * 8 + x], 0)
      }
    }
  }
  // A reused buffer full of stale values is cleared before padding.
  const reused = new Float32Array(3 * 8 * 6).fill(42)
  t.equal(toPixelTensor(image, normalisationTable(processor), padded, reused), reused)
  t.same(Array.from(reused), Array.from(byHand(image, processor, 8, 6)))
})
