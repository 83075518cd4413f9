import { parseArgs, type ParseArgsConfig } from 'node:util'

/** parseArgs for the npm scripts: --help prints the usage; a mistake prints one line and the usage, never a stack trace. */
export function parseCommandLine<T extends ParseArgsConfig> (usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage)
    process.exit(0)
  }
  try {
    return parseArgs(config)
  } catch (error) {
    return commandLineMistake(usage, (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
}

/** Ends the script with exit code 2 after saying what was wrong with its command line. */
export function commandLineMistake (usage: string, message: string): never {
  process.stderr.write(`error: ${message}\n\n${usage}\n`)
  process.exit(2)
}
