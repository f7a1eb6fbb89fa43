// The convolution designs bench/conv-kernels.mjs measures against the library's direct kernels
// (assembly/conv.ts), compiled on demand into build/conv-designs.wasm (not part of the library):
//   im2col + GEMM (ONNX Runtime's ConvGrad): patches copied into a (P, K) matrix, P = B OH OW
//     output pixels, K = KH KW C, then the library's matmul kernels; col2im scatters the input gradient
//   indirect convolution (XNNPACK, Dukhan 2019): an indirection buffer of (P, KH KW) input-pixel
//     addresses (a zero row for padding), built once per shape, read by a 4-pixel x 8-channel
//     micro-kernel with the same tile and sum order as conv2d_forward's (no zero test, as its
//     4-pixel tiles)
// NHWC, weight (KH, KW, C, OC); shapes as assembly/conv.ts.
export { matmul_forward, matmul_backward_part } from '../assembly/matmul';
export { conv2d_forward, conv2d_filter_transpose, conv2d_backward_input, conv2d_backward_filter } from '../assembly/conv';
export { peak } from './peak';
import { STATIC_SCRATCH, SCRATCH_BYTES } from '../assembly/scratch';
import { outSize, padBefore } from '../assembly/window';

export function heap_base(): usize {
  return STATIC_SCRATCH + SCRATCH_BYTES;
}

/** col (B OH OW, KH KW C) = the input patches, zeros in the padding */
export function im2col(col: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32, S: i32, same: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  const pix = <usize>C << 2;
  let o = col;
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * S - PT + kh;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow * S - PL + kw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) memory.fill(o, 0, pix);
        else memory.copy(o, inp + <usize>((b * H + ih) * W + iw) * pix, pix);
        o += pix;
      }
    }
  }
}

/** dinp (B, H, W, C) = the patches' gradients dcol (B OH OW, KH KW C) added back into place */
export function col2im(dinp: usize, dcol: usize, B: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32, S: i32, same: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  const pix = <usize>C << 2;
  memory.fill(dinp, 0, <usize>(B * H * W) * pix);
  let d = dcol;
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * S - PT + kh;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow * S - PL + kw;
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
          const x = dinp + <usize>((b * H + ih) * W + iw) * pix;
          let c = 0;
          for (; c + 4 <= C; c += 4) v128.store(x + (<usize>c << 2), f32x4.add(v128.load(x + (<usize>c << 2)), v128.load(d + (<usize>c << 2))));
          for (; c < C; c++) store<f32>(x + (<usize>c << 2), load<f32>(x + (<usize>c << 2)) + load<f32>(d + (<usize>c << 2)));
        }
        d += pix;
      }
    }
  }
}

/** ind (B OH OW, KH KW) i32 = the address of each tap's input pixel, or zero (C zero floats) in the padding */
export function indirection(ind: usize, inp: usize, zero: usize, B: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32, S: i32, same: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  let o = ind;
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * S - PT + kh;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow * S - PL + kw;
        store<i32>(o, ih < 0 || ih >= H || iw < 0 || iw >= W ? <i32>zero : <i32>(inp + <usize>((b * H + ih) * W + iw) * (<usize>C << 2)));
        o += 4;
      }
    }
  }
}

/** out (P, OC) = the indirect product: pixels in fours (and one at a time), channels in eights (OC % 8 == 0 here) */
export function indirect_forward(out: usize, ind: usize, weight: usize, bias: usize, P: i32, T: i32, C: i32, OC: i32): void {
  const pixO = <usize>OC << 2, tapW = <usize>C * pixO;
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const i0 = ind + (<usize>(p * T) << 2), iStep = <usize>T << 2;
    for (let j = 0; j + 8 <= OC; j += 8) {
      const jo = <usize>j << 2;
      let a00 = v128.load(bias + jo), a01 = v128.load(bias + jo, 16);
      let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
      for (let t = 0; t < T; t++) {
        const x0 = <usize>load<i32>(i0 + (<usize>t << 2)), x1 = <usize>load<i32>(i0 + iStep + (<usize>t << 2));
        const x2 = <usize>load<i32>(i0 + 2 * iStep + (<usize>t << 2)), x3 = <usize>load<i32>(i0 + 3 * iStep + (<usize>t << 2));
        let wk = weight + <usize>t * tapW + jo;
        for (let c = 0; c < C; c++) {
          const co = <usize>c << 2;
          const w0 = v128.load(wk), w1 = v128.load(wk, 16);
          let s = v128.load32_splat(x0 + co);
          a00 = f32x4.add(a00, f32x4.mul(s, w0));
          a01 = f32x4.add(a01, f32x4.mul(s, w1));
          s = v128.load32_splat(x1 + co);
          a10 = f32x4.add(a10, f32x4.mul(s, w0));
          a11 = f32x4.add(a11, f32x4.mul(s, w1));
          s = v128.load32_splat(x2 + co);
          a20 = f32x4.add(a20, f32x4.mul(s, w0));
          a21 = f32x4.add(a21, f32x4.mul(s, w1));
          s = v128.load32_splat(x3 + co);
          a30 = f32x4.add(a30, f32x4.mul(s, w0));
          a31 = f32x4.add(a31, f32x4.mul(s, w1));
          wk += pixO;
        }
      }
      let o = out + <usize>p * pixO + jo;
      v128.store(o, a00);
      v128.store(o, a01, 16);
      o += pixO;
      v128.store(o, a10);
      v128.store(o, a11, 16);
      o += pixO;
      v128.store(o, a20);
      v128.store(o, a21, 16);
      o += pixO;
      v128.store(o, a30);
      v128.store(o, a31, 16);
    }
  }
  for (; p < P; p++) {
    const i0 = ind + (<usize>(p * T) << 2);
    for (let j = 0; j < OC; j++) {
      let a = load<f32>(bias + (<usize>j << 2));
      for (let t = 0; t < T; t++) {
        const x = <usize>load<i32>(i0 + (<usize>t << 2));
        for (let c = 0; c < C; c++) {
          const v = load<f32>(x + (<usize>c << 2));
          if (v != 0) a += v * load<f32>(weight + <usize>t * tapW + <usize>c * pixO + (<usize>j << 2));
        }
      }
      store<f32>(out + <usize>p * pixO + (<usize>j << 2), a);
    }
  }
}

/**
 * The NCHW alternative (PyTorch's layout), forward, stride 1, 'valid', OW >= 8: inp (B, C, H, W),
 * weight (OC, C, KH, KW), out (B, OC, OH, OW); SIMD across 8 output columns x 4 output channels
 * (OC % 4 == 0 here), a row's last columns by a tile ending at OW (overlapping the previous one).
 */
export function nchw_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32): void {
  const OH = H - KH + 1, OW = W - KW + 1;
  const KK = KH * KW;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j + 4 <= OC; j += 4) {
      const w0 = weight + (<usize>(j * C * KK) << 2), wStep = <usize>(C * KK) << 2;
      for (let oh = 0; oh < OH; oh++) {
        for (let t = 0; t < OW; t += 8) {
          const ow = min(t, OW - 8);
          let a00 = f32x4.splat(load<f32>(bias + (<usize>j << 2))), a01 = a00;
          let a10 = f32x4.splat(load<f32>(bias + (<usize>(j + 1) << 2))), a11 = a10;
          let a20 = f32x4.splat(load<f32>(bias + (<usize>(j + 2) << 2))), a21 = a20;
          let a30 = f32x4.splat(load<f32>(bias + (<usize>(j + 3) << 2))), a31 = a30;
          for (let c = 0; c < C; c++) {
            const xc = inp + (<usize>(((b * C + c) * H + oh) * W + ow) << 2);
            const wc = w0 + (<usize>(c * KK) << 2);
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const xp = xc + (<usize>(kh * W + kw) << 2), k = wc + (<usize>(kh * KW + kw) << 2);
                const x0 = v128.load(xp), x1 = v128.load(xp, 16);
                let s = v128.load32_splat(k);
                a00 = f32x4.add(a00, f32x4.mul(s, x0));
                a01 = f32x4.add(a01, f32x4.mul(s, x1));
                s = v128.load32_splat(k + wStep);
                a10 = f32x4.add(a10, f32x4.mul(s, x0));
                a11 = f32x4.add(a11, f32x4.mul(s, x1));
                s = v128.load32_splat(k + 2 * wStep);
                a20 = f32x4.add(a20, f32x4.mul(s, x0));
                a21 = f32x4.add(a21, f32x4.mul(s, x1));
                s = v128.load32_splat(k + 3 * wStep);
                a30 = f32x4.add(a30, f32x4.mul(s, x0));
                a31 = f32x4.add(a31, f32x4.mul(s, x1));
              }
            }
          }
          const plane = <usize>(OH * OW) << 2;
          let o = out + (<usize>(((b * OC + j) * OH + oh) * OW + ow) << 2);
          v128.store(o, a00);
          v128.store(o, a01, 16);
          o += plane;
          v128.store(o, a10);
          v128.store(o, a11, 16);
          o += plane;
          v128.store(o, a20);
          v128.store(o, a21, 16);
          o += plane;
          v128.store(o, a30);
          v128.store(o, a31, 16);
        }
      }
    }
  }
}
