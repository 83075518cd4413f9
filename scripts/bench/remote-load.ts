import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadOptions, LoadResult } from './load.js'

/** Runs load windows from a separate, low-priority client process (see load-client.ts). */
export class RemoteLoad {
  private constructor (private readonly child: ChildProcess, private readonly dir: string) {}

  static start (): RemoteLoad {
    const child = fork(join(import.meta.dirname, 'load-client.ts'), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new RemoteLoad(child, mkdtempSync(join(tmpdir(), 'dinov3-bench-')))
  }

  async run (options: LoadOptions): Promise<LoadResult> {
    const bodyFile = join(this.dir, 'body')
    writeFileSync(bodyFile, options.body)
    const { body: _body, ...rest } = options
    return new Promise((resolve, reject) => {
      this.child.once('message', (result: LoadResult | { error: string }) => 'error' in result ? reject(new Error(result.error)) : resolve(result))
      this.child.send({ ...rest, bodyFile })
    })
  }

  stop (): void {
    this.child.disconnect()
  }
}
