// Pooling kernels, NHWC (channels last).
//   B  = images, H x W x C in, OH x OW x C out, K x K window, S = stride, same as assembly/conv.ts
//   ('valid' = 0: whole windows only; 'same' = 1: TensorFlow's padding, the window clipped to the input)
//   inp is (B, H, W, C), out and dout are (B, OH, OW, C), argmax is (B, OH, OW, C) i32: the index of
//   the chosen input element within its image ((h W + w) C + c), written by the forward for the backward
// Max: the first largest element in window order (kh, kw) (a strict > from the first one, so a NaN
// first element stays and a later NaN is passed over, in every build). Average: the sum in window
// order from +0, divided by the number of window elements inside the input. Backward kernels
// overwrite dinp for their rows: zeroed, then each output pixel in order adds its gradient (max:
// to its argmax (an exact zero added or skipped alike: the sums start at +0); average: dout / count
// to each element of its window).
// Every value is rounded to f32 at each step, so all builds and the TS reference agree bit for bit.
// Ranges [b0, b1) of the batch: a split is bit-identical to one call.
import { checkSpan } from './data';
import { outSize, padBefore } from './window';

export function maxpool2d_forward(out: usize, argmax: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, K: i32, S: i32, same: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, K, S, same), OW = outSize(W, K, S, same);
  const PT = padBefore(H, K, S, same), PL = padBefore(W, K, S, same);
  assert(OH > 0 && OW > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'maxpool2d_forward: bad shape or range');
  checkSpan(out, B * OH * OW * C, 4);
  checkSpan(argmax, B * OH * OW * C, 4);
  checkSpan(inp, B * H * W * C, 4);
  const pix = <usize>C << 2;
  for (let b = b0; b < b1; b++) {
    const xb = inp + <usize>(b * H * W) * pix;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT, kh0 = max(0, -ih0), kh1 = min(K, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * S - PL, kw0 = max(0, -iw0), kw1 = min(K, W - iw0);
        const o = <usize>((b * OH + oh) * OW + ow) * pix;
        const first = ((ih0 + kh0) * W + iw0 + kw0) * C; // the first window element's index in the image
        let c = 0;
        if (ASC_FEATURE_SIMD && K == 2 && kh1 - kh0 == 2 && kw1 - kw0 == 2) {
          // a whole 2 x 2 window, unrolled: its elements (0, 0), (0, 1), (1, 0), (1, 1) are 0, pix,
          // W pix and W pix + pix bytes from the first, and C, W C and W C + C indices
          const x = xb + (<usize>first << 2), rowB = <usize>W * pix;
          const dC = i32x4.splat(C), dR = i32x4.splat(W * C), dRC = i32x4.splat(W * C + C), four = i32x4.splat(4);
          let ic = i32x4.add(i32x4.splat(first), i32x4(0, 1, 2, 3)); // channels c..c+3 of the first element
          for (; c + 4 <= C; c += 4) {
            const p = x + (<usize>c << 2);
            let m = v128.load(p), mi = ic;
            let v = v128.load(p + pix), gt = f32x4.gt(v, m);
            m = v128.bitselect(v, m, gt);
            mi = v128.bitselect(i32x4.add(ic, dC), mi, gt);
            v = v128.load(p + rowB);
            gt = f32x4.gt(v, m);
            m = v128.bitselect(v, m, gt);
            mi = v128.bitselect(i32x4.add(ic, dR), mi, gt);
            v = v128.load(p + rowB + pix);
            gt = f32x4.gt(v, m);
            m = v128.bitselect(v, m, gt);
            mi = v128.bitselect(i32x4.add(ic, dRC), mi, gt);
            v128.store(out + o + (<usize>c << 2), m);
            v128.store(argmax + o + (<usize>c << 2), mi);
            ic = i32x4.add(ic, four);
          }
        } else if (ASC_FEATURE_SIMD) {
          for (; c + 4 <= C; c += 4) {
            const co = <usize>c << 2;
            let m = v128.load(xb + (<usize>first << 2) + co);
            let mi = i32x4.add(i32x4.splat(first + c), i32x4(0, 1, 2, 3));
            for (let kh = kh0; kh < kh1; kh++) {
              for (let kw = kw0; kw < kw1; kw++) {
                const at = ((ih0 + kh) * W + iw0 + kw) * C + c;
                const v = v128.load(xb + (<usize>at << 2));
                const gt = f32x4.gt(v, m);
                m = v128.bitselect(v, m, gt);
                mi = v128.bitselect(i32x4.add(i32x4.splat(at), i32x4(0, 1, 2, 3)), mi, gt);
              }
            }
            v128.store(out + o + co, m);
            v128.store(argmax + o + co, mi);
          }
        }
        for (; c < C; c++) {
          let m = load<f32>(xb + (<usize>(first + c) << 2));
          let mi = first + c;
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) {
              const at = ((ih0 + kh) * W + iw0 + kw) * C + c;
              const v = load<f32>(xb + (<usize>at << 2));
              if (v > m) {
                m = v;
                mi = at;
              }
            }
          }
          store<f32>(out + o + (<usize>c << 2), m);
          store<i32>(argmax + o + (<usize>c << 2), mi);
        }
      }
    }
  }
}

export function maxpool2d_backward(dinp: usize, dout: usize, argmax: usize, B: i32, H: i32, W: i32, C: i32, K: i32, S: i32, same: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, K, S, same), OW = outSize(W, K, S, same);
  assert(OH > 0 && OW > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'maxpool2d_backward: bad shape or range');
  checkSpan(dinp, B * H * W * C, 4);
  checkSpan(dout, B * OH * OW * C, 4);
  checkSpan(argmax, B * OH * OW * C, 4);
  const N = OH * OW * C, HWC = H * W * C;
  for (let b = b0; b < b1; b++) {
    const xb = dinp + (<usize>(b * HWC) << 2);
    memory.fill(xb, 0, <usize>HWC << 2);
    const d = dout + (<usize>(b * N) << 2), a = argmax + (<usize>(b * N) << 2);
    // every gradient added, exact zeros too, with no branch on the values: the sums start at +0 and
    // adding a non-zero value never gives -0, so adding a zero (+0 or -0) leaves them unchanged
    for (let i = 0; i < N; i++) {
      const v = load<f32>(d + (<usize>i << 2));
      const at = load<i32>(a + (<usize>i << 2));
      assert(at >= 0 && at < HWC, 'maxpool2d_backward: argmax outside the image');
      const p = xb + (<usize>at << 2);
      store<f32>(p, load<f32>(p) + v);
    }
  }
}

export function avgpool2d_forward(out: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, K: i32, S: i32, same: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, K, S, same), OW = outSize(W, K, S, same);
  const PT = padBefore(H, K, S, same), PL = padBefore(W, K, S, same);
  assert(OH > 0 && OW > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'avgpool2d_forward: bad shape or range');
  checkSpan(out, B * OH * OW * C, 4);
  checkSpan(inp, B * H * W * C, 4);
  const pix = <usize>C << 2;
  for (let b = b0; b < b1; b++) {
    const xb = inp + <usize>(b * H * W) * pix;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT, kh0 = max(0, -ih0), kh1 = min(K, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * S - PL, kw0 = max(0, -iw0), kw1 = min(K, W - iw0);
        const n = <f32>((kh1 - kh0) * (kw1 - kw0));
        const o = out + <usize>((b * OH + oh) * OW + ow) * pix;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          for (; c + 4 <= C; c += 4) {
            let a = f32x4.splat(0);
            for (let kh = kh0; kh < kh1; kh++) {
              for (let kw = kw0; kw < kw1; kw++) a = f32x4.add(a, v128.load(xb + <usize>((ih0 + kh) * W + iw0 + kw) * pix + (<usize>c << 2)));
            }
            v128.store(o + (<usize>c << 2), f32x4.div(a, f32x4.splat(n)));
          }
        }
        for (; c < C; c++) {
          let a: f32 = 0;
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) a += load<f32>(xb + <usize>((ih0 + kh) * W + iw0 + kw) * pix + (<usize>c << 2));
          }
          store<f32>(o + (<usize>c << 2), a / n);
        }
      }
    }
  }
}

export function avgpool2d_backward(dinp: usize, dout: usize, B: i32, H: i32, W: i32, C: i32, K: i32, S: i32, same: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, K, S, same), OW = outSize(W, K, S, same);
  const PT = padBefore(H, K, S, same), PL = padBefore(W, K, S, same);
  assert(OH > 0 && OW > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'avgpool2d_backward: bad shape or range');
  checkSpan(dinp, B * H * W * C, 4);
  checkSpan(dout, B * OH * OW * C, 4);
  const pix = <usize>C << 2;
  for (let b = b0; b < b1; b++) {
    const xb = dinp + <usize>(b * H * W) * pix;
    memory.fill(xb, 0, <usize>(H * W) * pix);
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT, kh0 = max(0, -ih0), kh1 = min(K, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * S - PL, kw0 = max(0, -iw0), kw1 = min(K, W - iw0);
        const n = <f32>((kh1 - kh0) * (kw1 - kw0));
        const d = dout + <usize>((b * OH + oh) * OW + ow) * pix;
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const x = xb + <usize>((ih0 + kh) * W + iw0 + kw) * pix;
            let c = 0;
            if (ASC_FEATURE_SIMD) {
              const nv = f32x4.splat(n);
              for (; c + 4 <= C; c += 4) {
                const co = <usize>c << 2;
                v128.store(x + co, f32x4.add(v128.load(x + co), f32x4.div(v128.load(d + co), nv)));
              }
            }
            for (; c < C; c++) {
              const co = <usize>c << 2;
              store<f32>(x + co, load<f32>(x + co) + load<f32>(d + co) / n);
            }
          }
        }
      }
    }
  }
}

// out (B, C) = the mean of each image's N = H W pixels (sum in pixel order from +0, divided by N)
export function global_avgpool_forward(out: usize, inp: usize, B: i32, N: i32, C: i32, b0: i32, b1: i32): void {
  assert(N > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'global_avgpool_forward: bad shape or range');
  checkSpan(out, B * C, 4);
  checkSpan(inp, B * N * C, 4);
  const pix = <usize>C << 2, n = <f32>N;
  for (let b = b0; b < b1; b++) {
    const xb = inp + <usize>(b * N) * pix, o = out + <usize>b * pix;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        let a = f32x4.splat(0);
        for (let p = 0; p < N; p++) a = f32x4.add(a, v128.load(xb + <usize>p * pix + (<usize>c << 2)));
        v128.store(o + (<usize>c << 2), f32x4.div(a, f32x4.splat(n)));
      }
    }
    for (; c < C; c++) {
      let a: f32 = 0;
      for (let p = 0; p < N; p++) a += load<f32>(xb + <usize>p * pix + (<usize>c << 2));
      store<f32>(o + (<usize>c << 2), a / n);
    }
  }
}

// dinp (B, N, C) = dout (B, C) / N at every pixel (overwritten)
export function global_avgpool_backward(dinp: usize, dout: usize, B: i32, N: i32, C: i32, b0: i32, b1: i32): void {
  assert(N > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'global_avgpool_backward: bad shape or range');
  checkSpan(dinp, B * N * C, 4);
  checkSpan(dout, B * C, 4);
  const pix = <usize>C << 2, n = <f32>N;
  for (let b = b0; b < b1; b++) {
    const xb = dinp + <usize>(b * N) * pix, d = dout + <usize>b * pix;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const g = f32x4.div(v128.load(d + (<usize>c << 2)), f32x4.splat(n));
        for (let p = 0; p < N; p++) v128.store(xb + <usize>p * pix + (<usize>c << 2), g);
      }
    }
    for (; c < C; c++) {
      const g = load<f32>(d + (<usize>c << 2)) / n;
      for (let p = 0; p < N; p++) store<f32>(xb + <usize>p * pix + (<usize>c << 2), g);
    }
  }
}
