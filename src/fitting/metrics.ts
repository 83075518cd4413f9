/** Confusion counts over labelled pixels (the ignore label and labels ≥ K are skipped): mIoU and pixel accuracy. */
export class SegmentationScore {
  private readonly matrix: Float64Array

  constructor (private readonly classes: number) {
    this.matrix = new Float64Array(classes * classes)
  }

  add (truth: ArrayLike<number>, predicted: ArrayLike<number>): void {
    const k = this.classes
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i]
      if (t < k) this.matrix[t * k + predicted[i]] += 1
    }
  }

  /** mIoU as mmseg computes it: the mean over classes present in the truth or the prediction. */
  result (): { miou: number, pixel_accuracy: number } {
    const k = this.classes
    let correct = 0
    let total = 0
    let iouSum = 0
    let iouCount = 0
    for (let c = 0; c < k; c++) {
      let row = 0
      let column = 0
      for (let j = 0; j < k; j++) {
        row += this.matrix[c * k + j]
        column += this.matrix[j * k + c]
      }
      const hit = this.matrix[c * k + c]
      correct += hit
      total += row
      const union = row + column - hit
      if (union > 0) {
        iouSum += hit / union
        iouCount += 1
      }
    }
    return { miou: iouCount === 0 ? 0 : iouSum / iouCount, pixel_accuracy: total === 0 ? 0 : correct / total }
  }
}

/** AbsRel, RMSE (metres) and δ1 over the pixels with a true depth (> 0), as in the depth literature (Eigen et al.). */
export class DepthScore {
  private count = 0
  private absRel = 0
  private squared = 0
  private within = 0

  add (truth: Float32Array, predicted: Float32Array): void {
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i]
      if (!(t > 0)) continue
      const p = predicted[i]
      this.count += 1
      this.absRel += Math.abs(p - t) / t
      this.squared += (p - t) ** 2
      if (Math.max(p / t, t / p) < 1.25) this.within += 1
    }
  }

  result (): { abs_rel: number, rmse: number, delta1: number } {
    const n = Math.max(1, this.count)
    return { abs_rel: this.absRel / n, rmse: Math.sqrt(this.squared / n), delta1: this.within / n }
  }
}
