import t from 'tap'
import type { ImageHeader } from '../../src/image/decode.js'
import { denseGeometry, embedGeometry, padToPatch, roundUpTo } from '../../src/inference/geometry.js'
import type { Processor } from '../../src/inference/processor.js'

const header = (width: number, height: number): ImageHeader => ({ format: 'png', width, height })

const processor = (resize: Processor['resize']): Processor => ({
  resize,
  kernel: 'cubic',
  rescaleFactor: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225]
})

t.test('roundUpTo and padToPatch', async (t) => {
  t.equal(roundUpTo(0, 16), 0)
  t.equal(roundUpTo(1, 16), 16)
  t.equal(roundUpTo(16, 16), 16)
  t.equal(roundUpTo(17, 16), 32)
  t.same(padToPatch({ width: 480, height: 320 }, 14), { width: 490, height: 322 })
  t.same(padToPatch({ width: 224, height: 224 }, 14), { width: 224, height: 224 })
})

t.test('embed, exact size: resized to the processor size, padded only where it is not a patch multiple', async (t) => {
  t.same(embedGeometry(header(640, 480), processor({ kind: 'exact', height: 224, width: 224 }), 16), {
    plan: { kind: 'exact', width: 224, height: 224, kernel: 'cubic' },
    geometry: { original: { width: 640, height: 480 }, content: { width: 224, height: 224 }, padded: { width: 224, height: 224 } }
  })
  t.same(embedGeometry(header(50, 70), processor({ kind: 'exact', height: 200, width: 250 }), 16), {
    plan: { kind: 'exact', width: 250, height: 200, kernel: 'cubic' },
    geometry: { original: { width: 50, height: 70 }, content: { width: 250, height: 200 }, padded: { width: 256, height: 208 } }
  })
})

t.test('embed, shortest edge without a crop keeps the aspect', async (t) => {
  // 640×480, shortest edge 256: ×256/480 → 341.33 × 256 → 341 × 256.
  t.same(embedGeometry(header(640, 480), processor({ kind: 'shortest-edge', shortestEdge: 256 }), 16), {
    plan: { kind: 'cover-crop', width: 341, height: 256, crop: { width: 341, height: 256 }, kernel: 'cubic' },
    geometry: { original: { width: 640, height: 480 }, content: { width: 341, height: 256 }, padded: { width: 352, height: 256 } }
  })
  // 640×480, shortest edge 224: 640·224/480 = 298.67 rounds up to 299.
  t.same(embedGeometry(header(640, 480), processor({ kind: 'shortest-edge', shortestEdge: 224 }), 16).geometry.content, { width: 299, height: 224 })
  // 200 × 301 (portrait), shortest edge 100: 301 / 2 = 150.5 rounds up to 151.
  const { plan, geometry } = embedGeometry(header(200, 301), processor({ kind: 'shortest-edge', shortestEdge: 100 }), 14)
  t.same(plan, { kind: 'cover-crop', width: 100, height: 151, crop: { width: 100, height: 151 }, kernel: 'cubic' })
  t.same(geometry.padded, { width: 112, height: 154 })
})

t.test('embed, shortest edge then a centre crop: the crop is the content', async (t) => {
  // 300×500, shortest edge 256: ×256/300 → 256 × 426.67 → 256 × 427, then the centre 224 × 224.
  t.same(embedGeometry(header(300, 500), processor({ kind: 'shortest-edge', shortestEdge: 256, crop: { width: 224, height: 224 } }), 16), {
    plan: { kind: 'cover-crop', width: 256, height: 427, crop: { width: 224, height: 224 }, kernel: 'cubic' },
    geometry: { original: { width: 300, height: 500 }, content: { width: 224, height: 224 }, padded: { width: 224, height: 224 } }
  })
  const cropped = embedGeometry(header(1000, 800), processor({ kind: 'shortest-edge', shortestEdge: 256, crop: { width: 230, height: 200 } }), 16)
  t.same(cropped.plan, { kind: 'cover-crop', width: 320, height: 256, crop: { width: 230, height: 200 }, kernel: 'cubic' })
  t.same(cropped.geometry.content, { width: 230, height: 200 })
  t.same(cropped.geometry.padded, { width: 240, height: 208 })
})

t.test('embed, no resize: the original, padded to the patch', async (t) => {
  t.same(embedGeometry(header(123, 45), processor({ kind: 'none' }), 16), {
    plan: { kind: 'none' },
    geometry: { original: { width: 123, height: 45 }, content: { width: 123, height: 45 }, padded: { width: 128, height: 48 } }
  })
})

t.test('dense, native under or at the cap: no resize', async (t) => {
  for (const [w, h] of [[640, 480], [1024, 768], [768, 1024], [1, 1]]) {
    const { plan, geometry } = denseGeometry(header(w, h), { kind: 'native' }, 1024, 16, 'linear')
    t.same(plan, { kind: 'none' }, `${w}×${h}`)
    t.same(geometry, { original: { width: w, height: h }, content: { width: w, height: h }, padded: { width: roundUpTo(w, 16), height: roundUpTo(h, 16) } })
  }
})

t.test('dense, native over the cap: scaled down so the long side is the cap, aspect kept and rounded', async (t) => {
  // 4000×3000 → 1024 × 768 exactly.
  t.same(denseGeometry(header(4000, 3000), { kind: 'native' }, 1024, 16, 'linear'), {
    plan: { kind: 'exact', width: 1024, height: 768, kernel: 'linear' },
    geometry: { original: { width: 4000, height: 3000 }, content: { width: 1024, height: 768 }, padded: { width: 1024, height: 768 } }
  })
  // 3000×1999 → 1999·1024/3000 = 682.33 → 682, padded to 688.
  const wide = denseGeometry(header(3000, 1999), { kind: 'native' }, 1024, 16, 'linear')
  t.same(wide.geometry.content, { width: 1024, height: 682 })
  t.same(wide.geometry.padded, { width: 1024, height: 688 })
  // Portrait 1000×3001 → 1000·1024/3001 = 341.22 → 341 × 1024, padded to 352.
  const tall = denseGeometry(header(1000, 3001), { kind: 'native' }, 1024, 16, 'cubic')
  t.same(tall.plan, { kind: 'exact', width: 341, height: 1024, kernel: 'cubic' })
  t.same(tall.geometry.padded, { width: 352, height: 1024 })
  // 1920×1081 → 1081·1024/1920 = 576.53 rounds up to 577.
  t.same(denseGeometry(header(1920, 1081), { kind: 'native' }, 1024, 16, 'linear').geometry.content, { width: 1024, height: 577 })
  // 2050×1025 at cap 1024 → 1025·1024/2050 = 512.0 → 512; the aspect stays 2:1.
  t.same(denseGeometry(header(2050, 1025), { kind: 'native' }, 1024, 16, 'linear').geometry.content, { width: 1024, height: 512 })
})

t.test('dense, a requested long side scales up as well as down', async (t) => {
  t.same(denseGeometry(header(320, 240), { kind: 'long-side', pixels: 640 }, 1024, 16, 'linear'), {
    plan: { kind: 'exact', width: 640, height: 480, kernel: 'linear' },
    geometry: { original: { width: 320, height: 240 }, content: { width: 640, height: 480 }, padded: { width: 640, height: 480 } }
  })
  // 1200×900 → 448: ×0.3733 → 448 × 336 (24 patches of 14).
  t.same(denseGeometry(header(1200, 900), { kind: 'long-side', pixels: 448 }, 1024, 14, 'linear').geometry,
    { original: { width: 1200, height: 900 }, content: { width: 448, height: 336 }, padded: { width: 448, height: 336 } })
  // Portrait 333×500 → 500 up to 700: 333·1.4 = 466.2 → 466, padded to 476 with patch 14.
  const portrait = denseGeometry(header(333, 500), { kind: 'long-side', pixels: 700 }, 1024, 14, 'linear')
  t.same(portrait.geometry.content, { width: 466, height: 700 })
  t.same(portrait.geometry.padded, { width: 476, height: 700 })
  // 640×427 → 320: 427 / 2 = 213.5 rounds up to 214.
  t.same(denseGeometry(header(640, 427), { kind: 'long-side', pixels: 320 }, 1024, 16, 'linear').geometry.content, { width: 320, height: 214 })
  // Already that long: no resize.
  t.same(denseGeometry(header(500, 300), { kind: 'long-side', pixels: 500 }, 1024, 16, 'linear').plan, { kind: 'none' })
  // A sliver never rounds to zero.
  t.same(denseGeometry(header(5000, 3), { kind: 'long-side', pixels: 100 }, 1024, 16, 'linear').geometry.content, { width: 100, height: 1 })
})

t.test('dense, patch 14: 480×320 pads to 490×322 at the bottom and right', async (t) => {
  t.same(denseGeometry(header(480, 320), { kind: 'native' }, 1024, 14, 'linear'), {
    plan: { kind: 'none' },
    geometry: { original: { width: 480, height: 320 }, content: { width: 480, height: 320 }, padded: { width: 490, height: 322 } }
  })
})

t.test('dense, fixed-input model: letterboxed into the fixed size, whatever the requested size', async (t) => {
  const fixed = { width: 224, height: 224 }
  // 640×480 → ×0.35 → 224 × 168, padded to 224 × 224.
  t.same(denseGeometry(header(640, 480), { kind: 'native' }, 1024, 16, 'linear', fixed), {
    plan: { kind: 'exact', width: 224, height: 168, kernel: 'linear' },
    geometry: { original: { width: 640, height: 480 }, content: { width: 224, height: 168 }, padded: { width: 224, height: 224 } }
  })
  // Portrait 300×500 → ×0.448 → 134.4 → 134 × 224; a requested long side does not change it.
  const portrait = denseGeometry(header(300, 500), { kind: 'long-side', pixels: 900 }, 1024, 16, 'linear', fixed)
  t.same(portrait.geometry, { original: { width: 300, height: 500 }, content: { width: 134, height: 224 }, padded: fixed })
  // A small image is scaled up to fit a non-square input: 100×100 into 320 wide × 224 high → 224 × 224.
  const small = denseGeometry(header(100, 100), { kind: 'native' }, 1024, 16, 'linear', { width: 320, height: 224 })
  t.same(small.plan, { kind: 'exact', width: 224, height: 224, kernel: 'linear' })
  t.same(small.geometry.padded, { width: 320, height: 224 })
  // The exact size: nothing to do.
  t.same(denseGeometry(header(224, 224), { kind: 'native' }, 1024, 16, 'linear', fixed), {
    plan: { kind: 'none' },
    geometry: { original: fixed, content: fixed, padded: fixed }
  })
})
