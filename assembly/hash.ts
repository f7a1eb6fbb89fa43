// The counter-based hash behind every random choice the kernels make (dropout masks, augmentation
// warps): lowbias32 of (i, stream, seed). Stateless, so a mask or a warp is recomputed rather than
// stored, and src/core/backend.ts's counterHash gives the same bits on the TS backend.

// @ts-ignore: decorator
@inline
export function counterHash(i: u32, stream: u32, seed: u32): u32 {
  let x = i + stream * 0x9e3779b9 + seed * 0x85ebca6b;
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}
