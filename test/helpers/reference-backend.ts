/**
 * The TS backend with the plain references of the convolution and pooling ops
 * (src/backends/ts/{conv,pool}-reference.ts) in place of its fast paths: the oracle the bit-exact
 * kernel tests compare every backend with, the fast TS path included.
 */
import { checkConvActivation, type Tensor } from '../../src/core/backend.js';
import { TsBackend } from '../../src/backends/ts/index.js';
import { conv2dBackwardFilterRef, conv2dBackwardInputRef, conv2dForwardRef } from '../../src/backends/ts/conv-reference.js';
import { maxpool2dBackwardRef, maxpool2dForwardRef } from '../../src/backends/ts/pool-reference.js';

export class ReferenceBackend extends TsBackend {
  override conv2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0 = 0, b1 = B): void {
    checkConvActivation(act);
    conv2dForwardRef(out.host!, inp.host!, weight.host!, bias ? bias.host! : null, B, H, W, C, OC, KH, KW, S, same, act, b0, b1);
  }
  override conv2d_backward_input(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, weightT: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    conv2dBackwardInputRef(dinp.host!, dout.host!, weightT.host!, B, H, W, C, OC, KH, KW, S, same, b0, b1);
  }
  override conv2d_backward_filter(dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0 = 0, o1 = OC): void {
    conv2dBackwardFilterRef(dweight.host!, dbias ? dbias.host! : null, dout.host!, inp.host!, B, H, W, C, OC, KH, KW, S, same, o0, o1);
  }
  override maxpool2d_forward(out: Tensor<'f32'>, argmax: Tensor<'i32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    maxpool2dForwardRef(out.host!, argmax.host!, inp.host!, B, H, W, C, K, S, same, b0, b1);
  }
  override maxpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, argmax: Tensor<'i32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    maxpool2dBackwardRef(dinp.host!, dout.host!, argmax.host!, B, H, W, C, K, S, same, b0, b1);
  }
}
