/**
 * The convolution ops of the TypeScript backend (NHWC; layout and sums as assembly/conv.ts says),
 * fast and bit-identical to the plain reference (./conv-reference.ts): every output is the same
 * sum in the same order, each product rounded to f32 (Math.fround) and each addition rounded to f32
 * (by storing into a Float32Array: an f32 + f32 sum computed in doubles and rounded once is the f32
 * sum). The speed comes from the loop order (each input value or gradient scales a contiguous row
 * of weights, outputs or gradients), hoisted index arithmetic, and skipping products with an exact
 * zero operand, which the reference computes.
 *
 * When skipping is exact: adding a product that is +-0 leaves an f32 sum unchanged unless the sum is
 * -0 (only a -0 start can be: x + y is -0 only when both are) or the product is NaN (0 times an
 * infinite or NaN operand). So each op checks the other operand and the starts first, and computes
 * every product, as the reference does, when they do not allow the skipping (a -0 bias or gradient
 * start, a weight, input or gradient that is not finite): the result is the reference's in every case.
 */
import { ACT_RELU } from '../../core/abi.js';
import { conv2dShape } from '../../core/backend.js';

const f = Math.fround;

/** whether every element of a[from, to) is finite */
function allFinite(a: Float32Array, from = 0, to = a.length): boolean {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] * 0; // NaN once an element is infinite or NaN
  return s === 0;
}

/** whether a[i * step + j] is -0 for some i, j in [o0, o1) (a start from which a skipped +0 product would differ) */
function hasNegZero(a: Float32Array, o0: number, o1: number, step: number): boolean {
  for (let base = 0; base < a.length; base += step) for (let j = o0; j < o1; j++) if (a[base + j] === 0 && 1 / a[base + j] < 0) return true;
  return false;
}

/** per-call lists of a pixel's non-zero inputs or gradients (value, and a channel or weight offset): grown to the longest list needed, never shrunk */
let listJ = new Int32Array(64), listV = new Float32Array(64);
function lists(n: number): void {
  if (listJ.length < n) (listJ = new Int32Array(n)), (listV = new Float32Array(n));
}

/** weightT (KH, KW, OC, C) = weight (KH, KW, C, OC), each tap's matrix transposed */
export function conv2dFilterTranspose(weightT: Float32Array, weight: Float32Array, KH: number, KW: number, C: number, OC: number): void {
  for (let t = 0; t < KH * KW; t++) {
    for (let c = 0; c < C; c++) for (let j = 0; j < OC; j++) weightT[(t * OC + j) * C + c] = weight[(t * C + c) * OC + j];
  }
}

/** out (B, OH, OW, OC) = act(conv(inp (B, H, W, C), weight (KH, KW, C, OC)) + bias (OC)), rows [b0, b1); act: ACT_LINEAR or ACT_RELU */
export function conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0 = 0, b1 = B): void {
  // zero inputs are skipped: exact with finite weights and no -0 bias
  const skip = allFinite(weight, 0, KH * KW * C * OC) && !(bias && hasNegZero(bias.subarray(0, OC), 0, OC, OC));
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  const tapW = C * OC, rowI = W * C, relu = act === ACT_RELU;
  lists(KH * KW * C);
  const J = listJ, V = listV;
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT;
      const kh0 = Math.max(0, -ih0), kh1 = Math.min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * S - PL;
        const kw0 = Math.max(0, -iw0), kw1 = Math.min(KW, W - iw0);
        const o = ((b * OH + oh) * OW + ow) * OC;
        // the pixel's non-zero inputs in (kh, kw, c) order: value, and the offset of its weight row
        let n = 0;
        for (let kh = kh0; kh < kh1; kh++) {
          const xr = (b * H + ih0 + kh) * rowI + iw0 * C;
          for (let kw = kw0; kw < kw1; kw++) {
            const x = xr + kw * C;
            let w = (kh * KW + kw) * tapW;
            for (let c = 0; c < C; c++, w += OC) {
              const v = inp[x + c];
              if (v !== 0 || !skip) (V[n] = v), (J[n] = w), n++;
            }
          }
        }
        // out[o + j] = the sum from the bias over the list of value times weight[row + j]: 8
        // channels a tile held in locals (in registers), then single channels
        let j = 0;
        for (; j + 8 <= OC; j += 8) {
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
          if (bias) (a0 = bias[j]), (a1 = bias[j + 1]), (a2 = bias[j + 2]), (a3 = bias[j + 3]), (a4 = bias[j + 4]), (a5 = bias[j + 5]), (a6 = bias[j + 6]), (a7 = bias[j + 7]);
          for (let e = 0; e < n; e++) {
            const v = V[e], w = J[e] + j;
            a0 = f(a0 + f(v * weight[w]));
            a1 = f(a1 + f(v * weight[w + 1]));
            a2 = f(a2 + f(v * weight[w + 2]));
            a3 = f(a3 + f(v * weight[w + 3]));
            a4 = f(a4 + f(v * weight[w + 4]));
            a5 = f(a5 + f(v * weight[w + 5]));
            a6 = f(a6 + f(v * weight[w + 6]));
            a7 = f(a7 + f(v * weight[w + 7]));
          }
          (out[o + j] = a0), (out[o + j + 1] = a1), (out[o + j + 2] = a2), (out[o + j + 3] = a3);
          (out[o + j + 4] = a4), (out[o + j + 5] = a5), (out[o + j + 6] = a6), (out[o + j + 7] = a7);
        }
        for (; j < OC; j++) {
          let a = bias ? bias[j] : 0;
          for (let e = 0; e < n; e++) a = f(a + f(V[e] * weight[J[e] + j]));
          out[o + j] = a;
        }
        if (relu) for (let j = o; j < o + OC; j++) if (!(out[j] > 0)) out[j] = 0;
      }
    }
  }
}

/** dinp (B, H, W, C) = the gradient of conv2dForward's out (dout) with respect to inp, rows [b0, b1) (overwritten); weightT from conv2dFilterTranspose */
export function conv2dBackwardInput(dinp: Float32Array, dout: Float32Array, weightT: Float32Array, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0 = 0, b1 = B): void {
  // zero gradients are skipped: exact with finite weights (every sum starts from +0)
  const skip = allFinite(weightT, 0, KH * KW * C * OC);
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  dinp.fill(0, b0 * H * W * C, b1 * H * W * C);
  lists(OC);
  const J = listJ, V = listV, tapW = OC * C;
  // output pixels ascending; each element of dinp gets one tap of a pixel, so its sum runs over the pixels, then their channels, ascending
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT;
      const kh0 = Math.max(0, -ih0), kh1 = Math.min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const d = ((b * OH + oh) * OW + ow) * OC;
        let n = 0;
        for (let j = 0; j < OC; j++) {
          const v = dout[d + j];
          if (v !== 0 || !skip) (J[n] = j * C), (V[n] = v), n++;
        }
        if (n === 0) continue;
        const iw0 = ow * S - PL;
        const kw0 = Math.max(0, -iw0), kw1 = Math.min(KW, W - iw0);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            // dinp[x + c] += the list's values times weightT[t + j C + c], 8 channels a tile in locals
            const x = ((b * H + ih0 + kh) * W + iw0 + kw) * C, t = (kh * KW + kw) * tapW;
            let c = 0;
            for (; c + 8 <= C; c += 8) {
              const i = x + c, tc = t + c;
              let a0 = dinp[i], a1 = dinp[i + 1], a2 = dinp[i + 2], a3 = dinp[i + 3], a4 = dinp[i + 4], a5 = dinp[i + 5], a6 = dinp[i + 6], a7 = dinp[i + 7];
              for (let e = 0; e < n; e++) {
                const v = V[e], k = tc + J[e];
                a0 = f(a0 + f(v * weightT[k]));
                a1 = f(a1 + f(v * weightT[k + 1]));
                a2 = f(a2 + f(v * weightT[k + 2]));
                a3 = f(a3 + f(v * weightT[k + 3]));
                a4 = f(a4 + f(v * weightT[k + 4]));
                a5 = f(a5 + f(v * weightT[k + 5]));
                a6 = f(a6 + f(v * weightT[k + 6]));
                a7 = f(a7 + f(v * weightT[k + 7]));
              }
              (dinp[i] = a0), (dinp[i + 1] = a1), (dinp[i + 2] = a2), (dinp[i + 3] = a3);
              (dinp[i + 4] = a4), (dinp[i + 5] = a5), (dinp[i + 6] = a6), (dinp[i + 7] = a7);
            }
            for (; c < C; c++) {
              let a = dinp[x + c];
              for (let e = 0; e < n; e++) a = f(a + f(V[e] * weightT[t + J[e] + c]));
              dinp[x + c] = a;
            }
          }
        }
      }
    }
  }
}

/** dweight (KH, KW, C, OC) += the gradient with respect to weight, dbias (OC) += with respect to bias (skipped when null), output channels [o0, o1) */
export function conv2dBackwardFilter(dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array, inp: Float32Array, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0 = 0, o1 = OC): void {
  // zero gradients are skipped (exact with finite inputs), and zero inputs for the pixels whose
  // non-zero gradients are all finite; no sum may start from -0
  const noNegZero = !hasNegZero(dweight.subarray(0, KH * KW * C * OC), o0, o1, OC) && !(dbias && hasNegZero(dbias.subarray(0, OC), o0, o1, OC));
  const skip = noNegZero && allFinite(inp, 0, B * H * W * C);
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  lists(OC);
  const J = listJ, V = listV, tapW = C * OC;
  // output pixels (b, oh, ow) ascending: every element's sum runs over them in order
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT;
      const kh0 = Math.max(0, -ih0), kh1 = Math.min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const d = ((b * OH + oh) * OW + ow) * OC;
        let n = 0, finite = 0;
        for (let j = o0; j < o1; j++) {
          const v = dout[d + j];
          if (v !== 0 || !skip) (J[n] = j), (V[n] = v), n++, (finite += v * 0);
        }
        if (n === 0) continue;
        if (dbias) for (let e = 0; e < n; e++) dbias[J[e]] += V[e];
        const skipZeroInput = finite === 0 && noNegZero;
        const iw0 = ow * S - PL;
        const kw0 = Math.max(0, -iw0), kw1 = Math.min(KW, W - iw0);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const x = ((b * H + ih0 + kh) * W + iw0 + kw) * C;
            let t = (kh * KW + kw) * tapW;
            for (let c = 0; c < C; c++, t += OC) {
              const xv = inp[x + c];
              if (xv === 0 && skipZeroInput) continue;
              for (let e = 0; e < n; e++) dweight[t + J[e]] += f(xv * V[e]);
            }
          }
        }
      }
    }
  }
}
