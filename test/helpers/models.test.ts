import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { syntheticModel } from './models.js'

t.test('a test model never inherits files from an earlier process that had the same pid', async (t) => {
  // The folder this process's first model takes, as a finished process with this pid would have left it.
  const stale = join(tmpdir(), 'dinov3-serve-tests', `${process.pid}-0`)
  mkdirSync(join(stale, 'heads', 'earlier'), { recursive: true })
  writeFileSync(join(stale, 'heads', 'earlier', 'head.json'), '{}')
  const dir = syntheticModel({ preset: 'tiny' })
  t.equal(dir, stale)
  t.notOk(existsSync(join(dir, 'heads', 'earlier')), 'the earlier process\'s head is gone')
  t.ok(existsSync(join(dir, 'config.json')))
})
