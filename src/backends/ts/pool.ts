/**
 * The max-pooling ops of the TypeScript backend (NHWC; rules as assembly/pool.ts says), fast and
 * bit-identical to the plain reference (./pool-reference.ts): a window's channels are compared as
 * one contiguous row, with the index arithmetic hoisted out of the loops. The other pooling ops are
 * the reference's (re-exported).
 */
import { conv2dShape } from '../../core/backend.js';

export { avgpool2dBackwardRef as avgpool2dBackward, avgpool2dForwardRef as avgpool2dForward, globalAvgpoolBackwardRef as globalAvgpoolBackward, globalAvgpoolForwardRef as globalAvgpoolForward } from './pool-reference.js';

/** out, argmax (B, OH, OW, C) = the first largest element of each K x K window (strict >: a NaN first element stays), and its index in the image */
export function maxpool2dForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, K, K, S, same);
  const HWC = H * W * C;
  for (let b = b0; b < b1; b++) {
    const x = b * HWC;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(0, oh * S - PT), h1 = Math.min(H, oh * S - PT + K);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(0, ow * S - PL), w1 = Math.min(W, ow * S - PL + K);
        const o = ((b * OH + oh) * OW + ow) * C;
        const first = (h0 * W + w0) * C;
        for (let c = 0; c < C; c++) (out[o + c] = inp[x + first + c]), (argmax[o + c] = first + c);
        // the window's elements in (h, w) order after the first; out holds each channel's maximum so far
        for (let h = h0; h < h1; h++) {
          for (let w = h === h0 ? w0 + 1 : w0; w < w1; w++) {
            const at = (h * W + w) * C, xa = x + at;
            for (let c = 0; c < C; c++) {
              const v = inp[xa + c];
              if (v > out[o + c]) (out[o + c] = v), (argmax[o + c] = at + c);
            }
          }
        }
      }
    }
  }
}

/** dinp (B, H, W, C) = each dout added at its argmax, in output order (overwritten) */
export function maxpool2dBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW } = conv2dShape(H, W, K, K, S, same);
  const N = OH * OW * C, HWC = H * W * C;
  dinp.fill(0, b0 * HWC, b1 * HWC);
  for (let b = b0; b < b1; b++) {
    const x = b * HWC, d = b * N;
    for (let i = 0; i < N; i++) dinp[x + argmax[d + i]] += dout[d + i];
  }
}
