// Inverted dropout with a counter-based mask: unit i of a call is kept when
// hash(i, stream, seed) >= threshold (= floor(p * 2^32)), and kept values are scaled by 1/(1-p).
// The mask is never stored: backward recomputes it from the same (seed, stream), and the TS
// reference uses the same integer hash, so every backend drops the same units.
import { checkSpan } from './data';
import { counterHash } from './hash';

// @ts-ignore: decorator
@inline
function keep(i: u32, stream: u32, seed: u32, threshold: u32): bool {
  return counterHash(i, stream, seed) >= threshold;
}

// out (N) = keep ? inp * scale : 0: the forward pass, and (same mask, same scaling) the backward.
// Unit i of the call is unit i0 + i of the mask, so a thread that takes elements [i0, i0 + N) of a
// call (src/backends/wasm/threads.ts) drops what one call drops there. SIMD: four hashes at a time
// in i32x4 lanes (the same u32 arithmetic), the kept values selected with the compare's mask, so a
// dropped unit is +0 as in the scalar `keep ? x * scale : 0` (51,200 values, a batch of the
// best-mlp preset's 800-wide layers: 0.13-0.15x the time of the scalar loop, bench/ab/kernels.mjs --kernel dropout)
function apply_mask(out: usize, inp: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32, i0: u32): void {
  checkSpan(out, N, 4);
  checkSpan(inp, N, 4);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const base = stream * 0x9e3779b9 + seed * 0x85ebca6b;
    let x0 = i32x4.add(i32x4(0, 1, 2, 3), i32x4.splat(i0 + base));
    const four = i32x4.splat(4), m1 = i32x4.splat(0x7feb352d), m2 = i32x4.splat(0x846ca68b);
    const vt = i32x4.splat(threshold), vs = f32x4.splat(scale);
    for (; i + 4 <= N; i += 4) {
      let x = v128.xor(x0, i32x4.shr_u(x0, 16));
      x = i32x4.mul(x, m1);
      x = v128.xor(x, i32x4.shr_u(x, 15));
      x = i32x4.mul(x, m2);
      x = v128.xor(x, i32x4.shr_u(x, 16));
      const o = <usize>i << 2;
      v128.store(out + o, v128.and(f32x4.mul(v128.load(inp + o), vs), i32x4.ge_u(x, vt)));
      x0 = i32x4.add(x0, four);
    }
  }
  for (; i < N; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, keep(i0 + <u32>i, stream, seed, threshold) ? load<f32>(inp + o) * scale : 0);
  }
}

export function dropout_forward(out: usize, inp: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32, i0: u32): void {
  apply_mask(out, inp, N, threshold, scale, seed, stream, i0);
}

// dinp (N) = keep ? dout * scale : 0, with the mask of the forward call with this seed and stream
export function dropout_backward(dinp: usize, dout: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32, i0: u32): void {
  apply_mask(dinp, dout, N, threshold, scale, seed, stream, i0);
}
