/**
 * The pooling ops' TypeScript reference (NHWC; rules as assembly/pool.ts says), every value rounded
 * to f32 in the kernels' order, so the WASM builds match it bit for bit.
 */
import { conv2dShape } from '../../core/backend.js';

const f = Math.fround;

/** the window of output pixel (oh, ow): rows [h0, h1), columns [w0, w1) of the input, and their count */
function windowOf(oh: number, ow: number, H: number, W: number, K: number, S: number, PT: number, PL: number) {
  const h0 = Math.max(0, oh * S - PT), h1 = Math.min(H, oh * S - PT + K);
  const w0 = Math.max(0, ow * S - PL), w1 = Math.min(W, ow * S - PL + K);
  return { h0, h1, w0, w1, n: (h1 - h0) * (w1 - w0) };
}

/** out, argmax (B, OH, OW, C) = the first largest element of each K x K window (strict >), and its index in the image */
export function maxpool2dForwardRef(out: Float32Array, argmax: Int32Array, inp: Float32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, K, K, S, same);
  for (let b = b0; b < b1; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const { h0, h1, w0, w1 } = windowOf(oh, ow, H, W, K, S, PT, PL);
    for (let c = 0; c < C; c++) {
      let mi = (h0 * W + w0) * C + c, m = inp[b * H * W * C + mi];
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) {
        const at = (h * W + w) * C + c;
        if (inp[b * H * W * C + at] > m) (m = inp[b * H * W * C + at]), (mi = at);
      }
      const o = ((b * OH + oh) * OW + ow) * C + c;
      out[o] = m;
      argmax[o] = mi;
    }
  }
}

/** dinp (B, H, W, C) = each dout added at its argmax, in output order (overwritten) */
export function maxpool2dBackwardRef(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW } = conv2dShape(H, W, K, K, S, same);
  const N = OH * OW * C, HWC = H * W * C;
  dinp.fill(0, b0 * HWC, b1 * HWC);
  for (let b = b0; b < b1; b++) for (let i = 0; i < N; i++) dinp[b * HWC + argmax[b * N + i]] = f(dinp[b * HWC + argmax[b * N + i]] + dout[b * N + i]);
}

/** out (B, OH, OW, C) = the mean of each window's elements inside the input */
export function avgpool2dForwardRef(out: Float32Array, inp: Float32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, K, K, S, same);
  for (let b = b0; b < b1; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const { h0, h1, w0, w1, n } = windowOf(oh, ow, H, W, K, S, PT, PL);
    for (let c = 0; c < C; c++) {
      let a = 0;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) a = f(a + inp[((b * H + h) * W + w) * C + c]);
      out[((b * OH + oh) * OW + ow) * C + c] = f(a / n);
    }
  }
}

/** dinp (B, H, W, C) = each dout / (its window's count) added to its window, in output order (overwritten) */
export function avgpool2dBackwardRef(dinp: Float32Array, dout: Float32Array, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  const { OH, OW, PT, PL } = conv2dShape(H, W, K, K, S, same);
  dinp.fill(0, b0 * H * W * C, b1 * H * W * C);
  for (let b = b0; b < b1; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const { h0, h1, w0, w1, n } = windowOf(oh, ow, H, W, K, S, PT, PL);
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) {
      for (let c = 0; c < C; c++) {
        const x = ((b * H + h) * W + w) * C + c;
        dinp[x] = f(dinp[x] + f(dout[((b * OH + oh) * OW + ow) * C + c] / n));
      }
    }
  }
}

/** out (B, C) = the mean over each image's N pixels of inp (B, N, C) */
export function globalAvgpoolForwardRef(out: Float32Array, inp: Float32Array, B: number, N: number, C: number, b0 = 0, b1 = B): void {
  for (let b = b0; b < b1; b++) for (let c = 0; c < C; c++) {
    let a = 0;
    for (let p = 0; p < N; p++) a = f(a + inp[(b * N + p) * C + c]);
    out[b * C + c] = f(a / N);
  }
}

/** dinp (B, N, C) = dout (B, C) / N at every pixel (overwritten) */
export function globalAvgpoolBackwardRef(dinp: Float32Array, dout: Float32Array, B: number, N: number, C: number, b0 = 0, b1 = B): void {
  for (let b = b0; b < b1; b++) for (let c = 0; c < C; c++) {
    const g = f(dout[b * C + c] / N);
    for (let p = 0; p < N; p++) dinp[(b * N + p) * C + c] = g;
  }
}
