/** A model folder that cannot serve; the message names the file and what is wrong with it. */
export class ModelFolderError extends Error {
  override name = 'ModelFolderError'
}
