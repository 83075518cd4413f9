import { readFileSync } from 'node:fs'
import t from 'tap'
import { handKeptMarker, withHandKept } from '../../scripts/bench/report.js'

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
