/**
 * Conv2D: a 2-D convolution over NHWC images (src/nn/layers.ts describes the layer interface).
 * Weights 'W' are HWIO (KH, KW, C, F), bias 'b' (F); ReLU is applied by conv2d_forward as it stores
 * the output, another activation in place to the output afterwards, as Dense does. The kernels
 * (Backend.conv2d_*) skip exact zeros of the input and of the output gradient; the input gradient needs the filter with each tap's matrix transposed, which lives
 * in the layer's workspace (the model's memory plan) and is rebuilt from W at each backward.
 */
import { Activation, type ActivationName, type Tensor } from '../core/backend.js';
import { windowOutput, type Conv2DDesc, type Layer, type StepContext, type TensorSpec, type WorkSpec } from './layer.js';

export class Conv2D implements Layer {
  readonly output = 'own';
  readonly gradInPlace = false;
  readonly outShape: number[];
  readonly params: TensorSpec[];
  readonly buffers: TensorSpec[] = [];
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly F: number;
  readonly KH: number;
  readonly KW: number;
  readonly S: number;
  readonly same: boolean;
  private readonly act: number;
  w!: Tensor<'f32'>;
  b!: Tensor<'f32'>;
  dw!: Tensor<'f32'>;
  db!: Tensor<'f32'>;

  /**
   * inShape: [H, W, C]; initActivation: the activation init 'auto' looks at; inputGrad: a layer below
   * has parameters, so the input gradient is computed (the first layer's never is)
   */
  constructor(readonly desc: Conv2DDesc, readonly index: number, readonly inShape: number[], initActivation: ActivationName, readonly inputGrad: boolean) {
    [this.H, this.W, this.C] = inShape;
    this.F = desc.filters;
    [this.KH, this.KW] = desc.kernel;
    this.S = desc.stride;
    this.same = desc.padding === 'same';
    this.act = Activation[desc.activation];
    const { OH, OW } = windowOutput(`layer ${index + 1} (conv2d)`, inShape, this.KH, this.KW, this.S, desc.padding);
    this.outShape = [OH, OW, this.F];
    const taps = this.KH * this.KW;
    // fans as Keras and PyTorch count them for a convolution: the receptive field times the channels
    this.params = [
      { name: 'W', shape: [this.KH, this.KW, this.C, this.F], init: 'fan', fanIn: taps * this.C, fanOut: taps * this.F, activation: initActivation },
      { name: 'b', shape: [this.F], init: 'zeros' },
    ];
  }

  workspace(): WorkSpec[] {
    return this.inputGrad ? [{ name: 'WT', dtype: 'f32', length: this.KH * this.KW * this.C * this.F }] : [];
  }

  bind(p: Tensor<'f32'>[], g: Tensor<'f32'>[]): void {
    [this.w, this.b] = p;
    [this.dw, this.db] = g;
  }

  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    const be = ctx.be;
    // ReLU is applied by the convolution as it stores each output; other activations are a pass of their own
    const fused = this.act === Activation.relu ? this.act : Activation.linear;
    be.conv2d_forward(y, x, this.w, this.b, B, this.H, this.W, this.C, this.F, this.KH, this.KW, this.S, this.same, fused);
    if (this.act !== fused) be.activation_forward(y, y, B * this.outShape[0] * this.outShape[1] * this.F, this.act);
  }

  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    const be = ctx.be;
    if (this.act !== Activation.linear) be.activation_backward(dy, dy, y, B * this.outShape[0] * this.outShape[1] * this.F, this.act);
    be.conv2d_backward_filter(this.dw, this.db, dy, x, B, this.H, this.W, this.C, this.F, this.KH, this.KW, this.S, this.same);
    if (dx) {
      const wt = ctx.work[this.index][0] as Tensor<'f32'>;
      be.conv2d_filter_transpose(wt, this.w, this.KH, this.KW, this.C, this.F);
      be.conv2d_backward_input(dx, dy, wt, B, this.H, this.W, this.C, this.F, this.KH, this.KW, this.S, this.same);
    }
  }

  describe(): Conv2DDesc {
    const d = this.desc;
    return { type: 'conv2d', filters: d.filters, kernel: [d.kernel[0], d.kernel[1]], stride: d.stride, padding: d.padding, activation: d.activation };
  }
}
