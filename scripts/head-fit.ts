/**
 * npm run head:fit -- --task segmentation|depth|classification --data DIR --name NAME [--model DIR] [--epochs N]
 *                     [--val-fraction F] [--kind linear|knn] [--heads-dir DIR]
 *
 * Fits a head on the frozen backbone from a dataset folder, with the same trainer as POST /heads, and writes it to
 * the heads folder (HEADS_DIR, else the model folder's heads/), where the service loads it.
 */
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { ServiceError } from '../src/errors.js'
import { fitHead, engineOptionsFromConfig, readDatasetFolder, type FitProgress, type FitTask } from '../src/fitting/index.js'
import { Engine } from '../src/inference/engine.js'
import { findModelFolder } from '../src/inference/find-model.js'
import { ModelFolderError, readModelFolder } from '../src/inference/model-folder.js'
import { commandLineMistake, parseCommandLine } from './command-line.js'

const USAGE = `usage: npm run head:fit -- --task segmentation|depth|classification --data DIR --name NAME [--model DIR]
                         [--epochs N] [--val-fraction F] [--kind linear|knn] [--heads-dir DIR]

  DIR holds images/<stem>.* with masks/<stem>.png (segmentation; labels.txt, one class a line, optional),
  images/<stem>.* with depth/<stem>.png (16-bit, mm) or .npy (float32, m) (depth), or <class>/<files> (classification);
  DIR/val/ in the same layout is the held-out set, else --val-fraction (0.2) of the images is held out.
  The model is --model, else MODEL / MODELS_DIR as the server finds it; the head goes to --heads-dir, else HEADS_DIR,
  else the model folder's heads/. FIT_MEMORY_MB bounds the features kept in memory (more spill to disk as float16).`

const { values } = parseCommandLine(USAGE, {
  options: {
    task: { type: 'string' },
    data: { type: 'string' },
    name: { type: 'string' },
    model: { type: 'string' },
    epochs: { type: 'string' },
    'val-fraction': { type: 'string' },
    kind: { type: 'string' },
    'heads-dir': { type: 'string' }
  }
})

const fail = (message: string): never => commandLineMistake(USAGE, message)
const task = values.task as FitTask
if (task === undefined) fail('--task is required')
if (!['segmentation', 'depth', 'classification'].includes(task)) fail(`--task takes segmentation, depth or classification, got ${values.task}`)
if (values.data === undefined) fail('--data is required')
if (values.name === undefined) fail('--name is required')
if (values.kind !== undefined && values.kind !== 'linear' && values.kind !== 'knn') fail(`--kind takes linear or knn, got ${values.kind}`)
if (values.kind === 'knn' && task !== 'classification') fail('--kind knn is for --task classification')
const epochs = values.epochs === undefined ? undefined : Number(values.epochs)
if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) fail(`--epochs must be a whole number of at least 1, got ${values.epochs}`)
const valFraction = values['val-fraction'] === undefined ? undefined : Number(values['val-fraction'])
if (valFraction !== undefined && !(valFraction >= 0 && valFraction < 1)) fail(`--val-fraction must be at least 0 and below 1, got ${values['val-fraction']}`)

/** One line a step on a pipe; a redrawn bar on a terminal. */
function progressPrinter (): (p: FitProgress) => void {
  const tty = process.stderr.isTTY === true
  let lastLine = ''
  return (p) => {
    const detail = p.state === 'training' && p.epoch !== undefined
      ? `epoch ${p.epoch}/${p.epochs ?? '?'}${p.loss === undefined ? '' : ` loss ${p.loss.toFixed(4)}`}`
      : ''
    const percent = Math.round(p.progress * 100)
    if (tty) {
      const width = 30
      const filled = Math.round(p.progress * width)
      process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${p.state} ${detail}\x1b[K`)
      if (p.state === 'done' || p.state === 'failed') process.stderr.write('\n')
      return
    }
    const line = `${p.state} ${percent}% ${detail}`.trim()
    // On a pipe, one line per whole percent or epoch is plenty.
    const key = `${p.state} ${percent} ${p.epoch ?? ''}`
    if (key !== lastLine) process.stderr.write(`${line}\n`)
    lastLine = key
  }
}

const quiet = { fatal: console.error, error: console.error, warn: console.error, info () {}, debug () {} }

try {
  const config = loadConfig(process.env)
  const modelDir = values.model ?? findModelFolder(config.model, config.modelsDir)
  if (modelDir === undefined) fail(`no model folder: pass --model DIR, or set MODEL (none under MODELS_DIR=${config.modelsDir})`)
  const folder = readModelFolder(modelDir as string, config.variant)
  const headsDir = values['heads-dir'] ?? process.env.HEADS_DIR ?? join(folder.dir, 'heads')
  const dataset = await readDatasetFolder(values.data as string, task)
  const engine = await Engine.start(folder, engineOptionsFromConfig(config), quiet)
  try {
    const fitted = await fitHead(engine, {
      task,
      name: values.name as string,
      kind: values.kind as 'linear' | 'knn' | undefined,
      epochs,
      valFraction,
      labels: dataset.labels,
      train: dataset.train,
      val: dataset.val
    }, headsDir, progressPrinter())
    process.stdout.write(`${JSON.stringify({ dir: fitted.dir, ...fitted.headJson }, null, 2)}\n`)
  } finally {
    await engine.close()
  }
} catch (error) {
  if (error instanceof ServiceError || error instanceof ModelFolderError) {
    process.stderr.write(`error: ${error.message}\n`)
    process.exit(1)
  }
  throw error
}
