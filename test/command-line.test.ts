import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'

type Result = { code: number, stdout: string, stderr: string }

async function script (name: string, ...args: string[]): Promise<Result> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { timeout: 30_000 })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error: Result) => error)
}

t.test('the npm scripts print their usage for --help, and one line and the usage for a mistake, never a stack trace', async (t) => {
  for (const [name, usage] of [['make-synthetic-model', /usage: npm run model:synthetic -- .*--preset tiny\|small\|base/],
    ['bench', /usage: npm run bench -- \[--only gpu,embed,/], ['stress', /usage: npm run stress -- \[overload .*soak\]/],
    ['pull-model', /usage: npm run model:pull -- \[hub id\]/]] as const) {
    const help = await script(name, '--help')
    t.equal(help.code, 0, `${name} --help exits 0`)
    t.match(help.stdout, usage)
    const mistake = await script(name, '--bogus')
    t.equal(mistake.code, 2, `${name} --bogus exits 2`)
    t.match(mistake.stderr, /^error: Unknown option '--bogus'\n\nusage: /)
    t.notMatch(mistake.stderr, /\n\s+at /, 'no stack trace')
  }
  const badPreset = await script('make-synthetic-model', '--preset', 'huge')
  t.match(badPreset, { code: 2, stderr: /^error: --preset must be one of tiny, small, base\n\nusage: / })
  const badSection = await script('bench', '--only', 'embed,nope')
  t.match(badSection, { code: 2, stderr: /^error: unknown section nope: use gpu, embed,/ })
})
