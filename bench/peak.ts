// The machine's ceiling for the kernels' arithmetic, for bench/kernels.mjs (not part of the
// library): f32x4 multiply-adds (mul + add: wasm SIMD has no fused multiply-add without relaxed
// SIMD) with one operand loaded from an L1-resident buffer and 12 independent accumulators, the
// shape of the sparse and GEMM inner loops without their address arithmetic or cache misses.
// Compiled on demand (bench/peak-probe.mjs) into build/peak.wasm by bench/kernels.mjs and bench/ab/peak.mjs.

/** n iterations of 12 f32x4 multiply-adds (96 flops) over 16 KiB at buf; returns a lane so nothing is dead */
export function peak(buf: usize, n: i32): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  let a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  for (let i = 0; i < n; i++) {
    const p = buf + (<usize>(i & 63) << 8);
    const v = v128.load32_splat(p);
    a0 = f32x4.add(a0, f32x4.mul(v, v128.load(p)));
    a1 = f32x4.add(a1, f32x4.mul(v, v128.load(p, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v, v128.load(p, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v, v128.load(p, 48)));
    a4 = f32x4.add(a4, f32x4.mul(v, v128.load(p, 64)));
    a5 = f32x4.add(a5, f32x4.mul(v, v128.load(p, 80)));
    a6 = f32x4.add(a6, f32x4.mul(v, v128.load(p, 96)));
    a7 = f32x4.add(a7, f32x4.mul(v, v128.load(p, 112)));
    a8 = f32x4.add(a8, f32x4.mul(v, v128.load(p, 128)));
    a9 = f32x4.add(a9, f32x4.mul(v, v128.load(p, 144)));
    a10 = f32x4.add(a10, f32x4.mul(v, v128.load(p, 160)));
    a11 = f32x4.add(a11, f32x4.mul(v, v128.load(p, 176)));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}
