/**
 * Pooling and reshaping layers over NHWC images (src/nn/layers.ts describes the layer interface):
 * MaxPool2D (its argmax indices in the layer's workspace, the model's memory plan), AvgPool2D,
 * GlobalAvgPool ([H, W, C] -> [C]) and Flatten (a view: NHWC rows are already flat).
 */
import type { Tensor } from '../core/backend.js';
import { windowOutput, type AvgPool2DDesc, type FlattenDesc, type GlobalAvgPoolDesc, type Layer, type MaxPool2DDesc, type StepContext, type TensorSpec, type WorkSpec } from './layer.js';

/** a K x K window layer's sizes */
abstract class Window {
  readonly output = 'own';
  readonly gradInPlace = false;
  readonly params: TensorSpec[] = [];
  readonly buffers: TensorSpec[] = [];
  readonly outShape: number[];
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly K: number;
  readonly S: number;
  readonly same: boolean;
  constructor(readonly desc: MaxPool2DDesc | AvgPool2DDesc, readonly index: number, readonly inShape: number[]) {
    [this.H, this.W, this.C] = inShape;
    this.K = desc.size;
    this.S = desc.stride;
    this.same = desc.padding === 'same';
    const { OH, OW } = windowOutput(`layer ${index + 1} (${desc.type})`, inShape, this.K, this.K, this.S, desc.padding);
    this.outShape = [OH, OW, this.C];
  }
  bind(): void {}
  describe(): MaxPool2DDesc | AvgPool2DDesc {
    const d = this.desc;
    return { type: d.type, size: d.size, stride: d.stride, padding: d.padding };
  }
}

export class MaxPool2D extends Window implements Layer {
  declare readonly desc: MaxPool2DDesc;
  /** (B, OH, OW, C) i32: each output's position in its image, written by the forward */
  workspace(B: number): WorkSpec[] {
    return [{ name: 'argmax', dtype: 'i32', length: B * this.outShape[0] * this.outShape[1] * this.C }];
  }
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    ctx.be.maxpool2d_forward(y, ctx.work[this.index][0] as Tensor<'i32'>, x, B, this.H, this.W, this.C, this.K, this.S, this.same);
  }
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    if (dx) ctx.be.maxpool2d_backward(dx, dy, ctx.work[this.index][0] as Tensor<'i32'>, B, this.H, this.W, this.C, this.K, this.S, this.same);
  }
}

export class AvgPool2D extends Window implements Layer {
  declare readonly desc: AvgPool2DDesc;
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    ctx.be.avgpool2d_forward(y, x, B, this.H, this.W, this.C, this.K, this.S, this.same);
  }
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    if (dx) ctx.be.avgpool2d_backward(dx, dy, B, this.H, this.W, this.C, this.K, this.S, this.same);
  }
}

export class GlobalAvgPool implements Layer {
  readonly output = 'own';
  readonly gradInPlace = false;
  readonly params: TensorSpec[] = [];
  readonly buffers: TensorSpec[] = [];
  readonly outShape: number[];
  private readonly N: number;
  private readonly C: number;
  constructor(readonly desc: GlobalAvgPoolDesc, readonly index: number, readonly inShape: number[]) {
    this.N = inShape[0] * inShape[1];
    this.C = inShape[2];
    this.outShape = [this.C];
  }
  bind(): void {}
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    ctx.be.global_avgpool_forward(y, x, B, this.N, this.C);
  }
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    if (dx) ctx.be.global_avgpool_backward(dx, dy, B, this.N, this.C);
  }
  describe(): GlobalAvgPoolDesc {
    return { type: 'globalavgpool' };
  }
}

export class Flatten implements Layer {
  readonly output = 'in-place';
  readonly gradInPlace = true;
  readonly params: TensorSpec[] = [];
  readonly buffers: TensorSpec[] = [];
  readonly outShape: number[];
  constructor(readonly desc: FlattenDesc, readonly index: number, readonly inShape: number[]) {
    this.outShape = [inShape.reduce((a, b) => a * b, 1)];
  }
  bind(): void {}
  forward(): void {}
  backward(): void {}
  describe(): FlattenDesc {
    return { type: 'flatten' };
  }
}
