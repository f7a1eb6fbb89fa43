/**
 * BatchNorm over the channels of an NHWC image (N = B H W rows of C) or the features of a flat input
 * (N = B rows), with Keras's semantics: training normalises with the batch's mean and (biased)
 * variance and moves the running ones (running = momentum * running + (1 - momentum) * batch);
 * evaluation normalises with the running ones. gamma and beta are parameters; the running 'mean' and
 * 'variance' are buffers (the model's buffer block: saved in model files and checkpoints, never
 * touched by an optimizer); the batch's mean and 1/std for the backward are workspace.
 */
import type { Tensor } from '../core/backend.js';
import type { BatchNormDesc, Layer, StepContext, TensorSpec, WorkSpec } from './layer.js';

export class BatchNorm implements Layer {
  readonly output = 'own';
  readonly gradInPlace = false;
  /** the batch-norm backward writes its input gradient in the same pass as gamma's and beta's */
  readonly alwaysDx = true;
  readonly outShape: number[];
  readonly params: TensorSpec[];
  readonly buffers: TensorSpec[];
  /** channels, and rows per example (H W for an image, 1 for a flat input) */
  readonly C: number;
  readonly rows: number;
  gamma!: Tensor<'f32'>;
  beta!: Tensor<'f32'>;
  dgamma!: Tensor<'f32'>;
  dbeta!: Tensor<'f32'>;
  runMean!: Tensor<'f32'>;
  runVar!: Tensor<'f32'>;

  constructor(readonly desc: BatchNormDesc, readonly index: number, readonly inShape: number[]) {
    this.outShape = inShape.slice();
    // [H, W] is a one-channel image; [H, W, C] C channels; [F] F features
    this.C = inShape.length === 2 ? 1 : inShape[inShape.length - 1];
    this.rows = inShape.reduce((a, b) => a * b, 1) / this.C;
    this.params = [
      { name: 'gamma', shape: [this.C], init: 'ones' },
      { name: 'beta', shape: [this.C], init: 'zeros' },
    ];
    this.buffers = [
      { name: 'mean', shape: [this.C], init: 'zeros' },
      { name: 'variance', shape: [this.C], init: 'ones' },
    ];
  }

  workspace(): WorkSpec[] {
    return [
      { name: 'batchMean', dtype: 'f32', length: this.C },
      { name: 'batchInvstd', dtype: 'f32', length: this.C },
    ];
  }

  bind(p: Tensor<'f32'>[], g: Tensor<'f32'>[], b: Tensor<'f32'>[]): void {
    [this.gamma, this.beta] = p;
    [this.dgamma, this.dbeta] = g;
    [this.runMean, this.runVar] = b;
  }

  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number, training: boolean): void {
    const [mean, invstd] = ctx.work[this.index] as Tensor<'f32'>[];
    ctx.be.batchnorm_forward(y, mean, invstd, this.runMean, this.runVar, x, this.gamma, this.beta, B * this.rows, this.C, this.desc.epsilon, this.desc.momentum, training);
  }

  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    const [mean, invstd] = ctx.work[this.index] as Tensor<'f32'>[];
    ctx.be.batchnorm_backward(dx!, this.dgamma, this.dbeta, dy, x, this.gamma, mean, invstd, B * this.rows, this.C);
  }

  describe(): BatchNormDesc {
    return { type: 'batchnorm', momentum: this.desc.momentum, epsilon: this.desc.epsilon };
  }
}
