import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import { badRequest } from '../errors.js'
import { decodeMask, IGNORE_LABEL } from './targets.js'
import type { FitTask, LabelledImage } from './types.js'

export interface DatasetFolder {
  train: LabelledImage[]
  /** DIR/val/ in the same layout, when there is one. */
  val?: LabelledImage[]
  /** Segmentation: DIR/labels.txt, else class_0.. up to the largest mask value. */
  labels?: string[]
}

const visible = (name: string): boolean => !name.startsWith('.')
const stemOf = (file: string): string => file.slice(0, file.length - extname(file).length)

function files (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && visible(e.name)).map((e) => e.name).sort()
}

/**
 * Reads a dataset folder in the layouts of API.md: DIR/images/<stem>.* with DIR/masks/<stem>.png (segmentation,
 * DIR/labels.txt optional) or DIR/depth/<stem>.png|.npy (depth), or DIR/<class>/<files> (classification); an optional
 * DIR/val/ in the same layout is the held-out set. Pairs are matched by stem; what is missing is left for
 * checkDataset to name.
 */
export async function readDatasetFolder (dir: string, task: FitTask): Promise<DatasetFolder> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw badRequest(`${dir} is not a folder`)
  const read = (root: string): LabelledImage[] => task === 'classification' ? readClasses(root, dir) : readPairs(root, dir, task)
  const train = read(dir)
  const valDir = join(dir, 'val')
  const val = existsSync(valDir) && statSync(valDir).isDirectory() ? read(valDir) : undefined
  let labels: string[] | undefined
  if (task === 'segmentation') {
    const labelsFile = join(dir, 'labels.txt')
    labels = existsSync(labelsFile)
      ? readFileSync(labelsFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
      : await placeholderLabels([...train, ...(val ?? [])])
  }
  return { train, val, labels }
}

function readPairs (root: string, base: string, task: 'segmentation' | 'depth'): LabelledImage[] {
  const imagesDir = join(root, 'images')
  const targetsDir = join(root, task === 'segmentation' ? 'masks' : 'depth')
  if (!existsSync(imagesDir)) throw badRequest(`${relative(base, imagesDir) || imagesDir}: missing (a ${task} dataset has images/ and ${task === 'segmentation' ? 'masks' : 'depth'}/)`)
  const targets = new Map<string, string>()
  if (existsSync(targetsDir)) {
    for (const file of files(targetsDir)) {
      const ext = extname(file).toLowerCase()
      if (ext === '.png' || (task === 'depth' && ext === '.npy')) targets.set(stemOf(file), file)
    }
  }
  const items: LabelledImage[] = files(imagesDir).map((file) => {
    const target = targets.get(stemOf(file))
    targets.delete(stemOf(file))
    const item: LabelledImage = { file: relative(base, join(imagesDir, file)), image: readFileSync(join(imagesDir, file)) }
    if (target === undefined) return item
    item.targetFile = relative(base, join(targetsDir, target))
    const bytes = readFileSync(join(targetsDir, target))
    if (task === 'segmentation') item.mask = bytes
    else item.depth = bytes
    return item
  })
  const orphan = [...targets.values()][0]
  if (orphan !== undefined) throw badRequest(`${relative(base, join(targetsDir, orphan))}: no image with the stem "${stemOf(orphan)}" in ${relative(base, imagesDir)}/`)
  return items
}

function readClasses (root: string, base: string): LabelledImage[] {
  const classes = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && visible(e.name) && !(root === base && e.name === 'val')).map((e) => e.name).sort()
  return classes.flatMap((label) => files(join(root, label)).map((file) => ({
    file: relative(base, join(root, label, file)),
    image: readFileSync(join(root, label, file)),
    label
  })))
}

/** class_0 … class_{max}, from the largest mask value (255 = ignore) over all masks. */
async function placeholderLabels (items: LabelledImage[]): Promise<string[]> {
  let largest = 0
  for (const item of items) {
    if (item.mask === undefined) continue
    const { data } = await decodeMask(item.mask, item.targetFile ?? item.file)
    for (const v of data) if (v !== IGNORE_LABEL && v > largest) largest = v
  }
  return Array.from({ length: largest + 1 }, (_, i) => `class_${i}`)
}
