import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { describeMachine } from '../../scripts/bench/machine.js'
import { handKeptMarker, renderReport, withHandKept } from '../../scripts/bench/report.js'

t.test('a new report keeps the hand-kept part of the page it replaces, from its marker on', async (t) => {
  const previous = `# Benchmarks\n\nold numbers\n\n${handKeptMarker}\n\n## Rounds by hand\n\nkept\n`
  t.equal(withHandKept('# Benchmarks\n\nnew numbers\n', previous), `# Benchmarks\n\nnew numbers\n\n${handKeptMarker}\n\n## Rounds by hand\n\nkept\n`)
})

t.test('a page without the marker, or no page, leaves the report as it is', async (t) => {
  t.equal(withHandKept('# new\n', '# old\n\n## Rounds by hand\n'), '# new\n')
  t.equal(withHandKept('# new\n', undefined), '# new\n')
})

t.test('BENCHMARKS.md carries the marker once, so that the next run keeps its hand-kept part', async (t) => {
  t.equal(readFileSync('BENCHMARKS.md', 'utf8').split(handKeptMarker).length, 2)
})

t.test('the machine line says which JPEG decoder the benchmarked services use', async (t) => {
  const machine = describeMachine({})
  // npm test builds the module first where a compiler and libjpeg's headers are; a copy without build/ has none.
  if (existsSync('build/native/jpeg-rgb.node')) t.equal(machine.jpegDecoder, 'native (build/native/jpeg-rgb.node)')
  else t.match(machine.jpegDecoder, /^sharp \(build\/native\/jpeg-rgb\.node is not built/)
  const page = renderReport({ machine, command: 'npm run bench', quick: false })
  t.match(page, `libvips ${machine.libvips}. JPEG decoding: ${machine.jpegDecoder}.`)
  t.equal(describeMachine({ NATIVE_JPEG: 'false' }).jpegDecoder, 'sharp (NATIVE_JPEG=false)', 'set off by the services\' settings')
})
