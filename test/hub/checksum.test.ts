import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { createContentHasher, hashFileInto } from '../../src/hub/checksum.js'

t.test('git blob ids match what git computes', async (t) => {
  // `git hash-object` of an empty file and of "hello\n".
  const empty = createContentHasher({ algorithm: 'git-blob-sha1', hex: '' }, 0)
  t.equal(empty.digestHex(), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391')
  const hello = createContentHasher({ algorithm: 'git-blob-sha1', hex: '' }, 6)
  hello.update(Buffer.from('hel'))
  hello.update(Buffer.from('lo\n'))
  t.equal(hello.digestHex(), 'ce013625030ba8dba906f756967f9e9ca394464a')
})

t.test('sha256 hashing of a file on disk is incremental and counts bytes', async (t) => {
  const path = join(t.testdir(), 'blob')
  const content = Buffer.alloc(200_000, 7)
  await writeFile(path, content)
  const hasher = createContentHasher({ algorithm: 'sha256', hex: '' }, content.length)
  t.equal(await hashFileInto(hasher, path), content.length)
  t.equal(hasher.digestHex(), createHash('sha256').update(content).digest('hex'))
})
