import t from 'tap'
import { createProgressReporter, formatBytes } from '../../src/hub/progress.js'

function fakeStream (isTTY: boolean) {
  const writes: string[] = []
  return { stream: { isTTY, columns: 200, write: (text: string) => writes.push(text) }, writes }
}

t.test('on a terminal one line per file is redrawn in place', async (t) => {
  let clock = 0
  const { stream, writes } = fakeStream(true)
  const file = createProgressReporter(stream, { now: () => clock, redrawIntervalMs: 100 }).forFile('onnx/model.onnx', 1024 * 1024)
  file.started(0)
  clock = 500
  file.advanced(512 * 1024)
  clock = 520
  file.advanced(600 * 1024) // within the redraw interval: not drawn
  clock = 1000
  file.finished(1024 * 1024)

  const output = writes.join('')
  t.equal(writes.filter((w) => w.startsWith('\r\x1b[K')).length, 3, 'start, one throttled redraw, final')
  t.equal(output.split('\n').length, 2, 'a single line, ended once')
  t.match(output, /onnx\/model\.onnx \[#{12}\.{12}\] {2}50% 512\.0 KiB \/ 1\.0 MiB 1\.0 MiB\/s/)
  t.match(output, /\[#{24}\] 100% 1\.0 MiB \/ 1\.0 MiB 1\.0 MiB\/s\n$/)
})

t.test('a long line is cut to the terminal width so \\r can redraw it', async (t) => {
  const { stream, writes } = fakeStream(true)
  stream.columns = 30
  createProgressReporter(stream).forFile('onnx/a-very-long-file-name.onnx_data', 10).started(0)
  t.ok(writes[0].length - '\r\x1b[K'.length < 30)
})

t.test('elsewhere plain lines: start, every 10%, done', async (t) => {
  let clock = 0
  const { stream, writes } = fakeStream(false)
  const file = createProgressReporter(stream, { now: () => clock }).forFile('onnx/model.onnx_data', 1000)
  file.started(0)
  for (let bytes = 50; bytes < 1000; bytes += 50) {
    clock += 100
    file.advanced(bytes)
  }
  file.finished(1000)
  t.equal(writes[0], 'fetching onnx/model.onnx_data (1000 B)\n')
  t.same(
    writes.slice(1, -1).map((line) => /: (\d+)%/.exec(line)?.[1]),
    ['10', '20', '30', '40', '50', '60', '70', '80', '90']
  )
  t.match(writes.at(-1), /^onnx\/model\.onnx_data: done \(1000 B in 1\.\d s, \d+ B\/s\)\n$/)
  t.notOk(writes.join('').includes('\r'), 'no carriage returns in logs')
})

t.test('a resumed file says where it resumes', async (t) => {
  const { stream, writes } = fakeStream(false)
  createProgressReporter(stream).forFile('x', 2048).started(1024)
  t.equal(writes[0], 'fetching x (2.0 KiB, resuming at 1.0 KiB)\n')
})

t.test('byte formatting', async (t) => {
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
})
