import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { scratchDir } from '../helpers/models.js'

// The pack must work where there is no npm and no checkout: it is run here from its own folder, on the CPU (WebGPU
// on lavapipe would spend minutes compiling the ViT-S model's shaders; test/gpu/webgpu.test.ts covers it).
t.test('gpu-check.sh packs a runnable check that measures the CPU and says why CUDA cannot run', async (t) => {
  const dir = join(scratchDir(t), 'pack')
  const pack = spawnSync('bash', ['scripts/gpu-check.sh', '--pack', dir, '--no-cuda'], { encoding: 'utf8', timeout: 120_000 })
  t.equal(pack.status, 0, pack.stderr)
  for (const file of ['gpu-check.sh', 'runner.mjs', 'bin/node', 'ort/project/node_modules/onnxruntime-node/dist/index.js',
    'ort/project/node_modules/onnxruntime-common/package.json']) {
    t.ok(existsSync(join(dir, file)), `${file} packed`)
  }

  const run = spawnSync(join(dir, 'gpu-check.sh'), ['--providers', 'cuda,cpu', '--batch', '2', '--size', '32', '--seconds', '1'], {
    encoding: 'utf8',
    timeout: 240_000,
    cwd: dir,
    // What the pack needs must be in it: no npm, no node_modules of the checkout on the way.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/tmp' }
  })
  t.equal(run.status, 1, 'exit 1: a provider did not run')
  t.match(run.stdout, /input \[2, 3, 32, 32\] -> last_hidden_state \[2, 9, 384\]/, 'the bench model: 384 channels, CLS + 4 registers + 2×2 patches')
  const cpuRow = run.stdout.split('\n').find((line) => line.startsWith('cpu '))
  t.ok(cpuRow, 'a row for the CPU')
  const cells = (cpuRow ?? '').trim().split(/\s+/)
  t.equal(cells[1], '1.30.0', 'on the project\'s onnxruntime-node')
  t.ok(Number(cells[6]) > 0, 'some images a second at batch 2')
  t.equal(cells.at(-1), '0.00e+0', 'the reference differs from itself by nothing')
  t.match(run.stdout, /cuda: could not run: no libonnxruntime_providers_cuda\.so in .* \(make the pack without --no-cuda\)/)
  t.match(run.stdout, /not run: cuda/)
})
