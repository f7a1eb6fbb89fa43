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

// out (N) = keep ? inp * scale : 0: the forward pass, and (same mask, same scaling) the backward
function apply_mask(out: usize, inp: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32): void {
  checkSpan(out, N, 4);
  checkSpan(inp, N, 4);
  for (let i = 0; i < N; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, keep(<u32>i, stream, seed, threshold) ? load<f32>(inp + o) * scale : 0);
  }
}

export function dropout_forward(out: usize, inp: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32): void {
  apply_mask(out, inp, N, threshold, scale, seed, stream);
}

// dinp (N) = keep ? dout * scale : 0, with the mask of the forward call with this seed and stream
export function dropout_backward(dinp: usize, dout: usize, N: i32, threshold: u32, scale: f32, seed: u32, stream: u32): void {
  apply_mask(dinp, dout, N, threshold, scale, seed, stream);
}
