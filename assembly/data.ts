// Data movement kernels: u8 -> f32 batch gather (with scaling), label gather, fill.
// Pointers are byte offsets into the host-owned memory; sizes are element counts.
// B = rows in the batch, C = features per row, N = element count.

/** debug-only sanity: `count` elements of `elemBytes` at `ptr` are inside memory and aligned */
// @ts-ignore: decorator
@inline
export function checkSpan(ptr: usize, count: i32, elemBytes: i32): void {
  assert(count >= 0, 'negative size');
  assert(ptr != 0 || count == 0, 'null tensor');
  assert((ptr & <usize>(elemBytes - 1)) == 0, 'misaligned tensor');
  assert(<u64>ptr + <u64>count * <u64>elemBytes <= (<u64>memory.size() << 16), 'tensor outside memory');
}

// out is (N)
export function fill(out: usize, N: i32, value: f32): void {
  checkSpan(out, N, 4);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const v = f32x4.splat(value);
    for (; i + 8 <= N; i += 8) {
      const p = out + (<usize>i << 2);
      v128.store(p, v);
      v128.store(p, v, 16);
    }
  }
  for (; i < N; i++) store<f32>(out + (<usize>i << 2), value);
}

// src is (rows, C) u8, idx is (B) i32, out is (B, C) f32: out[b][c] = src[idx[b]][c] * scale
export function gather_rows_u8(out: usize, src: usize, idx: usize, B: i32, C: i32, scale: f32): void {
  checkSpan(out, B * C, 4);
  checkSpan(idx, B, 4);
  for (let b = 0; b < B; b++) {
    const row = load<i32>(idx + (<usize>b << 2));
    assert(row >= 0, 'negative row index');
    const s = src + <usize>row * <usize>C;
    checkSpan(s, C, 1);
    const o = out + ((<usize>b * <usize>C) << 2);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const k = f32x4.splat(scale);
      for (; c + 8 <= C; c += 8) {
        const u16s = v128.load8x8_u(s + <usize>c); // 8 bytes -> i16x8
        const lo = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(u16s));
        const hi = f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(u16s));
        const p = o + (<usize>c << 2);
        v128.store(p, f32x4.mul(lo, k));
        v128.store(p, f32x4.mul(hi, k), 16);
      }
    }
    for (; c < C; c++) store<f32>(o + (<usize>c << 2), <f32>load<u8>(s + <usize>c) * scale);
  }
}

// src is (rows) u8 labels, idx is (B) i32, out is (B) i32
export function gather_u8(out: usize, src: usize, idx: usize, B: i32): void {
  checkSpan(out, B, 4);
  checkSpan(idx, B, 4);
  for (let b = 0; b < B; b++) {
    const row = load<i32>(idx + (<usize>b << 2));
    assert(row >= 0, 'negative row index');
    checkSpan(src + <usize>row, 1, 1);
    store<i32>(out + (<usize>b << 2), <i32>load<u8>(src + <usize>row));
  }
}
