/**
 * npm run model:pull -- [hub id] [--variant fp32|fp16|quantized|q4] [--revision main] [--dir models]
 *
 * Exit codes: 0 pulled, 1 the pull failed, 2 bad command line.
 */
import { isAbsolute, relative } from 'node:path'
import { isHubError } from '../src/hub/hub-errors.js'
import {
  DEFAULT_MODELS_DIR,
  DEFAULT_REPO_ID,
  DEFAULT_REVISION,
  hubSettingsFromEnv,
  isValidRepoId,
} from '../src/hub/hub-settings.js'
import { pullModel } from '../src/hub/pull-model.js'
import { COMMON_VARIANTS } from '../src/hub/variant-files.js'
import { commandLineMistake, parseCommandLine } from './command-line.js'

const USAGE = `usage: npm run model:pull -- [hub id] [--variant ${COMMON_VARIANTS.join('|')}] [--revision ${DEFAULT_REVISION}] [--dir ${DEFAULT_MODELS_DIR}]

  hub id      default ${DEFAULT_REPO_ID}
  --variant   which ONNX export to fetch (default fp32); the repo may offer others
  --revision  branch, tag or commit (default ${DEFAULT_REVISION})
  --dir       parent folder; the model goes to <dir>/<repo name> (default MODELS_DIR, else ${DEFAULT_MODELS_DIR})

environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (for gated or private repos),
             MODELS_DIR (the folder the server reads models from; --dir wins over it)`

interface CommandLine {
  repoId: string;
  variant: string;
  revision: string;
  dir: string;
}

function readCommandLine (): CommandLine {
  const { values, positionals } = parseCommandLine(USAGE, {
    allowPositionals: true,
    strict: true,
    options: {
      variant: { type: 'string', default: 'fp32' },
      revision: { type: 'string', default: DEFAULT_REVISION },
      dir: { type: 'string' },
    },
  })
  if (positionals.length > 1) commandLineMistake(USAGE, `expected one hub id, got ${positionals.length}: ${positionals.join(' ')}`)
  const variant = values.variant.trim()
  if (!/^[\w-]+$/.test(variant)) commandLineMistake(USAGE, `--variant must be a name such as fp16, got "${values.variant}"`)
  const repoId = positionals[0] ?? DEFAULT_REPO_ID
  if (!isValidRepoId(repoId)) commandLineMistake(USAGE, `"${repoId}" is not a hub id; expected owner/name, e.g. ${DEFAULT_REPO_ID}`)
  return { repoId, variant, revision: values.revision, dir: values.dir ?? modelsDirFromEnv() }
}

/** The server looks for models in MODELS_DIR, so a pull lands there unless --dir says otherwise. */
function modelsDirFromEnv (): string {
  return process.env.MODELS_DIR?.trim() || DEFAULT_MODELS_DIR
}

/** What to put in MODEL=: relative when inside the working directory, as the README shows it. */
function displayPath (path: string): string {
  const fromHere = relative(process.cwd(), path)
  const shown = fromHere && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : path
  return /^[\w./@:+-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, '\'\\\'\'')}'`
}

async function main (): Promise<number> {
  const commandLine = readCommandLine()

  try {
    const { endpoint, token } = hubSettingsFromEnv()
    process.stderr.write(`pulling ${commandLine.repoId} (${commandLine.variant}, ${commandLine.revision}) from ${endpoint}\n`)
    const result = await pullModel({ ...commandLine, endpoint, token })
    const fetched = result.files.filter((file) => file.outcome === 'downloaded').length
    const where = displayPath(result.modelDir)
    process.stdout.write(
      `model ready in ${where} (${fetched} file(s) downloaded, ${result.files.length - fetched} already present)\n` +
        `serve it with: MODEL=${where}${commandLine.variant === 'fp32' ? '' : ` MODEL_VARIANT=${commandLine.variant}`} npm start\n`
    )
    return 0
  } catch (error) {
    if (isHubError(error)) {
      process.stderr.write(`error: ${error.message}\n`)
    } else {
      // Unexpected (disk full, permissions…): still no stack unless asked for.
      const message = error instanceof Error ? error.message : String(error)
      process.stderr.write(`error: ${message}\n`)
      if (process.env.DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`)
    }
    return 1
  }
}

process.exitCode = await main()
