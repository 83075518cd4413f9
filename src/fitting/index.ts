/** Fitting heads on the frozen backbone: the one trainer behind POST /heads and `npm run head:fit`. No HTTP here. */
export { checkDataset, checkHeadName, classificationLabels } from './check-dataset.js'
export { fitHead, splitDataset, DEFAULT_VAL_FRACTION } from './fit-head.js'
export { defaultMemoryBudgetBytes } from './feature-store.js'
export type {
  FitKind, FitMetrics, FitOptions, FitProgress, FitRequest, FitState, FitTask, FittedBackbone, FittedHead, FittedHeadJson, LabelledImage
} from './types.js'
export { engineOptionsFromConfig } from '../inference/engine-options.js'
export { readDatasetFolder, type DatasetFolder } from './read-dataset.js'
