/**
 * When does a run count as diverged, and what is its likely cause? fit() asks this module; the rule
 * is documented here and in the docs.
 *
 * A loss that becomes NaN or Inf, or a gradient or update that does, is divergence (the kernels'
 * guards report those). A loss can also explode while staying finite (sgd at lr 1000: a mean loss of
 * 6,000 per image and 10% accuracy). For softmax cross-entropy that is caught by this rule:
 *
 *   reference  = the mean loss per image of the first batch of the fit() call, but at least ln(classes)
 *                (the loss of a uniform guess: a resumed, well-trained model starts far lower);
 *   exploded   = a batch whose mean loss per image is above EXPLODE_FACTOR (10) times the reference;
 *   diverged   = EXPLODE_BATCHES (20) exploded batches in a row, or an epoch in which more than
 *                half of the batches exploded (so short epochs are judged too).
 *
 * A loss of 10 x ln(10) = 23 per image means the model gives the true class a probability near
 * e^-23 on average: worse than any guess, for 20 batches running. Normal runs stay below ln(classes)
 * after their first batches (every preset's per-batch loss is checked in test/divergence.test.ts).
 * Squared error (loss mse) is bounded (at most classes / 2 per image, the reference is about
 * classes / 8), so it never explodes by this rule; its divergences show as NaN.
 */

export const EXPLODE_FACTOR = 10;
export const EXPLODE_BATCHES = 20;

export class LossWatch {
  /** the threshold a batch's mean loss must exceed to count as exploded (null until the first batch) */
  threshold: number | null = null;
  reference = 0;
  private fromClasses = false;
  /** exploded batches in a row */
  streak = 0;
  private high = 0;
  private batches = 0;
  private readonly enabled: boolean;

  constructor(loss: string, private readonly classes: number) {
    this.enabled = loss === 'ce';
  }

  /** one batch's mean loss per image; true when the run has now diverged by the streak rule */
  batch(mean: number): boolean {
    if (!this.enabled) return false;
    if (this.threshold === null) {
      this.reference = Math.max(mean, Math.log(this.classes));
      this.fromClasses = this.reference > mean;
      this.threshold = EXPLODE_FACTOR * this.reference;
    }
    this.batches++;
    if (mean > this.threshold) {
      this.high++;
      this.streak++;
    } else this.streak = 0;
    return this.streak >= EXPLODE_BATCHES;
  }

  /** at the end of an epoch: true when more than half its batches exploded; resets the epoch's count */
  epochEnd(): boolean {
    const bad = this.batches > 0 && this.high * 2 > this.batches;
    this.high = 0;
    this.batches = 0;
    return bad;
  }

  /** what the rule saw, for the message: `what` counts the batches, e.g. '20 batches in a row' */
  describe(mean: number, what: string): string {
    const ref = this.fromClasses ? `ln(classes) = ${fmt(this.reference)} (the first batch's loss was lower)` : `the first batch's loss ${fmt(this.reference)}`;
    return `the loss exploded while finite: ${what} above ${EXPLODE_FACTOR}x ${ref}, now ${fmt(mean)} per image`;
  }
}

const fmt = (x: number) => (Math.abs(x) >= 1e6 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toFixed(4))));

/** the likely cause of a divergence and what to change, for the message */
export function likelyCause(opt: { type: string; momentum: number; weightDecay: number }, lr: number): string {
  const wd = opt.weightDecay;
  // sgd/momentum (L2) and adamw (decoupled) scale each weight by 1 - lr * wd per step: at lr * wd
  // above 2 that factor's size passes 1 and the weights grow geometrically; Adam (L2 through its
  // normalised step) overflows its gradient when wd * w passes float32's range
  if (wd > 0 && (lr * wd >= 1 || wd >= 1e3)) return `the likely cause is the weight decay ${wd} (with learning rate ${lr} each step scales the weights by 1 - ${fmt(lr * wd)}); use a weight decay well below ${fmt(1 / lr)}, e.g. 1e-4`;
  const hint = opt.type === 'sgd' ? '' : opt.type.startsWith('adam') ? ' (Adam usually trains at 0.001)' : ` (or a lower momentum than ${opt.momentum})`;
  return `the likely cause is the learning rate ${lr}; try a lower one${hint}`;
}
