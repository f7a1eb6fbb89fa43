/**
 * The convolution ops' TypeScript reference (NHWC; layout and sums as assembly/conv.ts says):
 * plain loops over typed arrays, every product and sum rounded to f32 in the kernels' order, so the
 * WASM builds match it bit for bit. Products with a zero input are computed here (the kernels skip
 * them), so the conformance tests check that the skipping is exact.
 */
import { ACT_RELU } from '../../core/abi.js';
import { conv2dShape } from '../../core/backend.js';

const f = Math.fround;

/** out (B, OH, OW, OC) = act(conv(inp (B, H, W, C), weight (KH, KW, C, OC)) + bias (OC)), rows [b0, b1); act: ACT_LINEAR or ACT_RELU */
export function conv2dForwardRef(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let j = 0; j < OC; j++) {
          let a = bias ? bias[j] : 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * S - PT + kh;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * S - PL + kw;
              if (iw < 0 || iw >= W) continue;
              const x = ((b * H + ih) * W + iw) * C, w = (kh * KW + kw) * C * OC + j;
              for (let c = 0; c < C; c++) a = f(a + f(inp[x + c] * weight[w + c * OC]));
            }
          }
          out[((b * OH + oh) * OW + ow) * OC + j] = act === ACT_RELU ? (a > 0 ? a : 0) : a;
        }
      }
    }
  }
}

/** weightT (KH, KW, OC, C) = weight (KH, KW, C, OC), each tap's matrix transposed */
export function conv2dFilterTransposeRef(weightT: Float32Array, weight: Float32Array, KH: number, KW: number, C: number, OC: number): void {
  for (let t = 0; t < KH * KW; t++) {
    for (let c = 0; c < C; c++) for (let j = 0; j < OC; j++) weightT[(t * OC + j) * C + c] = weight[(t * C + c) * OC + j];
  }
}

/** dinp (B, H, W, C) = the gradient of conv2d_forward's out (dout) with respect to inp, rows [b0, b1) (overwritten); weightT from conv2dFilterTransposeRef */
export function conv2dBackwardInputRef(dinp: Float32Array, dout: Float32Array, weightT: Float32Array, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  dinp.fill(0, b0 * H * W * C, b1 * H * W * C);
  // the kernels' order: output pixels ascending, then each pixel's channels ascending
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const d = ((b * OH + oh) * OW + ow) * OC;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * S - PT + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * S - PL + kw;
            if (iw < 0 || iw >= W) continue;
            const x = ((b * H + ih) * W + iw) * C, t = (kh * KW + kw) * OC * C;
            for (let c = 0; c < C; c++) {
              let a = dinp[x + c];
              for (let j = 0; j < OC; j++) a = f(a + f(dout[d + j] * weightT[t + j * C + c]));
              dinp[x + c] = a;
            }
          }
        }
      }
    }
  }
}

/** dweight (KH, KW, C, OC) += the gradient with respect to weight, dbias (OC) += with respect to bias (skipped when null), output channels [o0, o1) */
export function conv2dBackwardFilterRef(dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array, inp: Float32Array, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0 = 0, o1 = OC): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let c = 0; c < C; c++) {
        for (let j = o0; j < o1; j++) {
          const at = ((kh * KW + kw) * C + c) * OC + j;
          let a = dweight[at];
          for (let b = 0; b < B; b++) {
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * S - PT + kh;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * S - PL + kw;
                if (iw < 0 || iw >= W) continue;
                a = f(a + f(inp[((b * H + ih) * W + iw) * C + c] * dout[((b * OH + oh) * OW + ow) * OC + j]));
              }
            }
          }
          dweight[at] = a;
        }
      }
    }
  }
  if (dbias) {
    const P = B * OH * OW;
    for (let j = o0; j < o1; j++) {
      let a = dbias[j];
      for (let p = 0; p < P; p++) a = f(a + dout[p * OC + j]);
      dbias[j] = a;
    }
  }
}
