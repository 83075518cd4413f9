/**
 * The load generator as its own process at the lowest CPU priority: it stands for clients on other machines, so on
 * a 2-core benchmark host it must not take the cores the service would have to itself in production.
 * Protocol: the parent sends LoadOptions (body as a file path), the child answers with a LoadResult.
 */
import { readFileSync } from 'node:fs'
import { setPriority } from 'node:os'
import { runLoad, type LoadOptions } from './load.js'

setPriority(19)
process.on('message', (message: Omit<LoadOptions, 'body'> & { bodyFile: string }) => {
  const { bodyFile, ...options } = message
  runLoad({ ...options, body: readFileSync(bodyFile) }).then((result) => process.send?.(result), (error: Error) => process.send?.({ error: error.message }))
})
process.on('disconnect', () => process.exit(0))
