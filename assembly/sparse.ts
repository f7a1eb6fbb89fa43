// The exact sparse first layer: MNIST pixels are ~81% zeros, and a zero input contributes nothing
// to X . W1 or to X^T . dZ. A dataset's non-zero structure is built once, in wasm memory:
//   nzStart is (rows + 1) i32 prefix offsets, nzIdx is (nnz) i32 column indices,
// so a batch touches only its rows' non-zeros. Values are read from the u8 pixels and scaled.
import { checkSpan } from './data';

// SIMD kernels: one image's non-zeros are first unpacked into (weight row address, scaled value)
// pairs in a static scratch list, so the per-column-block loops pay one address load and one value
// load per non-zero instead of index, pixel, convert, scale and multiply each time (W2: 25 blocks).
// An image with more than LIST_CAP non-zeros takes the direct loop, and so do layers narrower than
// LIST_MIN_OC, where two column blocks do not repay the unpacking (measured: 784-64 neutral, 784-800 -9%).
const LIST_CAP = 2048;
const LIST_MIN_OC = 96;
const LIST = memory.data(LIST_CAP * 8);

/** unpack non-zeros [p0, p1) of the image at img into LIST; returns the end of the list */
// @ts-ignore: decorator
@inline
function unpack(p0: usize, p1: usize, img: usize, base: usize, rowO: usize, scale: f32): usize {
  let q = LIST;
  for (let p = p0; p < p1; p += 4) {
    const k = <usize>load<i32>(p);
    store<u32>(q, <u32>(base + k * rowO));
    store<f32>(q, <f32>load<u8>(img + k) * scale, 4);
    q += 8;
  }
  return q;
}

// src is (rows, C) u8; writes nzStart (rows + 1); returns the total non-zero count
export function nz_count(nzStart: usize, src: usize, rows: i32, C: i32): i32 {
  checkSpan(nzStart, rows + 1, 4);
  checkSpan(src, rows * C, 1);
  let total = 0;
  store<i32>(nzStart, 0);
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * <usize>C;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = i8x16.splat(0);
      for (; c + 16 <= C; c += 16) {
        // zero bytes become -1 in the mask; popcount of the bitmask counts them
        total += 16 - <i32>popcnt(i8x16.bitmask(i8x16.eq(v128.load(row + c), zero)));
      }
    }
    for (; c < C; c++) if (load<u8>(row + c) != 0) total++;
    store<i32>(nzStart + ((<usize>r + 1) << 2), total);
  }
  return total;
}

// nzIdx is (nnz) i32: the column of each non-zero of src, row after row
export function nz_fill(nzIdx: usize, nzStart: usize, src: usize, rows: i32, C: i32): void {
  checkSpan(nzStart, rows + 1, 4);
  checkSpan(nzIdx, load<i32>(nzStart + (<usize>rows << 2)), 4);
  let at = nzIdx;
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * <usize>C;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      // 16 pixels at a time: the bitmask of non-zero bytes, visited set bit by set bit
      const zero = i8x16.splat(0);
      for (; c + 16 <= C; c += 16) {
        let m = ~i8x16.bitmask(i8x16.eq(v128.load(row + c), zero)) & 0xffff;
        while (m) {
          store<i32>(at, c + <i32>ctz(m));
          at += 4;
          m &= m - 1;
        }
      }
    }
    for (; c < C; c++) {
      if (load<u8>(row + c) != 0) {
        store<i32>(at, c);
        at += 4;
      }
    }
  }
}

// out (B, OC) = X . weight + bias, X's row b being row idx[b] of src (u8 * scale) given by its
// non-zeros; weight is (C, OC), bias is (OC) or 0
export function sparse_matmul_forward(out: usize, src: usize, nzStart: usize, nzIdx: usize, idx: usize, weight: usize, bias: usize, B: i32, C: i32, OC: i32, scale: f32): void {
  checkSpan(out, B * OC, 4);
  checkSpan(idx, B, 4);
  checkSpan(weight, C * OC, 4);
  const rowO = <usize>OC << 2;
  for (let b = 0; b < B; b++) {
    const r = load<i32>(idx + (<usize>b << 2));
    const img = src + <usize>r * <usize>C;
    const p0 = nzIdx + (<usize>load<i32>(nzStart + (<usize>r << 2)) << 2);
    const p1 = nzIdx + (<usize>load<i32>(nzStart + ((<usize>r + 1) << 2)) << 2);
    const o = out + <usize>b * rowO;
    let j = 0;
    if (ASC_FEATURE_SIMD && OC >= LIST_MIN_OC && <i32>((p1 - p0) >> 2) <= LIST_CAP) {
      const qEnd = unpack(p0, p1, img, weight, rowO, scale);
      // 32 columns at a time: 8 accumulators stay in registers while the non-zeros stream
      for (; j + 32 <= OC; j += 32) {
        const jo = <usize>j << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        if (bias) {
          a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16); a2 = v128.load(bias + jo, 32); a3 = v128.load(bias + jo, 48);
          a4 = v128.load(bias + jo, 64); a5 = v128.load(bias + jo, 80); a6 = v128.load(bias + jo, 96); a7 = v128.load(bias + jo, 112);
        }
        for (let q = LIST; q < qEnd; q += 8) {
          const w = <usize>load<u32>(q) + jo;
          const v = v128.load32_splat(q, 4);
          a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
          a1 = f32x4.add(a1, f32x4.mul(v, v128.load(w, 16)));
          a2 = f32x4.add(a2, f32x4.mul(v, v128.load(w, 32)));
          a3 = f32x4.add(a3, f32x4.mul(v, v128.load(w, 48)));
          a4 = f32x4.add(a4, f32x4.mul(v, v128.load(w, 64)));
          a5 = f32x4.add(a5, f32x4.mul(v, v128.load(w, 80)));
          a6 = f32x4.add(a6, f32x4.mul(v, v128.load(w, 96)));
          a7 = f32x4.add(a7, f32x4.mul(v, v128.load(w, 112)));
        }
        v128.store(o + jo, a0); v128.store(o + jo, a1, 16); v128.store(o + jo, a2, 32); v128.store(o + jo, a3, 48);
        v128.store(o + jo, a4, 64); v128.store(o + jo, a5, 80); v128.store(o + jo, a6, 96); v128.store(o + jo, a7, 112);
      }
      for (; j + 4 <= OC; j += 4) {
        const jo = <usize>j << 2;
        let a = bias ? v128.load(bias + jo) : f32x4.splat(0);
        for (let q = LIST; q < qEnd; q += 8) a = f32x4.add(a, f32x4.mul(v128.load32_splat(q, 4), v128.load(<usize>load<u32>(q) + jo)));
        v128.store(o + jo, a);
      }
    } else if (ASC_FEATURE_SIMD) {
      // the direct loop: index, pixel and weight-row address per non-zero, per column block
      for (; j + 32 <= OC; j += 32) {
        const jo = <usize>j << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        if (bias) {
          a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16); a2 = v128.load(bias + jo, 32); a3 = v128.load(bias + jo, 48);
          a4 = v128.load(bias + jo, 64); a5 = v128.load(bias + jo, 80); a6 = v128.load(bias + jo, 96); a7 = v128.load(bias + jo, 112);
        }
        for (let p = p0; p < p1; p += 4) {
          const k = <usize>load<i32>(p);
          const v = f32x4.splat(<f32>load<u8>(img + k) * scale);
          const w = weight + k * rowO + jo;
          a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
          a1 = f32x4.add(a1, f32x4.mul(v, v128.load(w, 16)));
          a2 = f32x4.add(a2, f32x4.mul(v, v128.load(w, 32)));
          a3 = f32x4.add(a3, f32x4.mul(v, v128.load(w, 48)));
          a4 = f32x4.add(a4, f32x4.mul(v, v128.load(w, 64)));
          a5 = f32x4.add(a5, f32x4.mul(v, v128.load(w, 80)));
          a6 = f32x4.add(a6, f32x4.mul(v, v128.load(w, 96)));
          a7 = f32x4.add(a7, f32x4.mul(v, v128.load(w, 112)));
        }
        v128.store(o + jo, a0); v128.store(o + jo, a1, 16); v128.store(o + jo, a2, 32); v128.store(o + jo, a3, 48);
        v128.store(o + jo, a4, 64); v128.store(o + jo, a5, 80); v128.store(o + jo, a6, 96); v128.store(o + jo, a7, 112);
      }
      for (; j + 4 <= OC; j += 4) {
        const jo = <usize>j << 2;
        let a = bias ? v128.load(bias + jo) : f32x4.splat(0);
        for (let p = p0; p < p1; p += 4) {
          const k = <usize>load<i32>(p);
          a = f32x4.add(a, f32x4.mul(f32x4.splat(<f32>load<u8>(img + k) * scale), v128.load(weight + k * rowO + jo)));
        }
        v128.store(o + jo, a);
      }
    }
    if (!ASC_FEATURE_SIMD) {
      // scalar build: stream each non-zero's weight row into the output row (contiguous)
      for (let jj = 0; jj < OC; jj++) store<f32>(o + (<usize>jj << 2), bias ? load<f32>(bias + (<usize>jj << 2)) : 0);
      for (let p = p0; p < p1; p += 4) {
        const k = <usize>load<i32>(p);
        const v = <f32>load<u8>(img + k) * scale;
        const w = weight + k * rowO;
        for (let jj = 0; jj < OC; jj++) {
          const jo = <usize>jj << 2;
          store<f32>(o + jo, load<f32>(o + jo) + v * load<f32>(w + jo));
        }
      }
      continue;
    }
    for (; j < OC; j++) {
      const jo = <usize>j << 2;
      let a: f32 = bias ? load<f32>(bias + jo) : 0;
      for (let p = p0; p < p1; p += 4) {
        const k = <usize>load<i32>(p);
        a += <f32>load<u8>(img + k) * scale * load<f32>(weight + k * rowO + jo);
      }
      store<f32>(o + jo, a);
    }
  }
}

// dweight (C, OC) += X^T . dout and dbias (OC) += column sums of dout (skipped when 0), X given as
// in sparse_matmul_forward; dout is (B, OC). Only the rows of dweight at non-zero inputs change.
export function sparse_matmul_backward(dweight: usize, dbias: usize, dout: usize, src: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32): void {
  checkSpan(dweight, C * OC, 4);
  checkSpan(dout, B * OC, 4);
  checkSpan(idx, B, 4);
  const rowO = <usize>OC << 2;
  for (let b = 0; b < B; b++) {
    const r = load<i32>(idx + (<usize>b << 2));
    const img = src + <usize>r * <usize>C;
    const p0 = nzIdx + (<usize>load<i32>(nzStart + (<usize>r << 2)) << 2);
    const p1 = nzIdx + (<usize>load<i32>(nzStart + ((<usize>r + 1) << 2)) << 2);
    const d = dout + <usize>b * rowO;
    let j = 0;
    if (ASC_FEATURE_SIMD && OC >= LIST_MIN_OC && <i32>((p1 - p0) >> 2) <= LIST_CAP) {
      const qEnd = unpack(p0, p1, img, dweight, rowO, scale);
      // 32 columns of the dout row held in registers while the row's non-zeros scatter into dweight
      for (; j + 32 <= OC; j += 32) {
        const jo = <usize>j << 2;
        const g0 = v128.load(d + jo), g1 = v128.load(d + jo, 16), g2 = v128.load(d + jo, 32), g3 = v128.load(d + jo, 48);
        const g4 = v128.load(d + jo, 64), g5 = v128.load(d + jo, 80), g6 = v128.load(d + jo, 96), g7 = v128.load(d + jo, 112);
        for (let q = LIST; q < qEnd; q += 8) {
          const w = <usize>load<u32>(q) + jo;
          const v = v128.load32_splat(q, 4);
          v128.store(w, f32x4.add(v128.load(w), f32x4.mul(v, g0)));
          v128.store(w, f32x4.add(v128.load(w, 16), f32x4.mul(v, g1)), 16);
          v128.store(w, f32x4.add(v128.load(w, 32), f32x4.mul(v, g2)), 32);
          v128.store(w, f32x4.add(v128.load(w, 48), f32x4.mul(v, g3)), 48);
          v128.store(w, f32x4.add(v128.load(w, 64), f32x4.mul(v, g4)), 64);
          v128.store(w, f32x4.add(v128.load(w, 80), f32x4.mul(v, g5)), 80);
          v128.store(w, f32x4.add(v128.load(w, 96), f32x4.mul(v, g6)), 96);
          v128.store(w, f32x4.add(v128.load(w, 112), f32x4.mul(v, g7)), 112);
        }
      }
      for (; j + 4 <= OC; j += 4) {
        const jo = <usize>j << 2;
        const g = v128.load(d + jo);
        for (let q = LIST; q < qEnd; q += 8) {
          const w = <usize>load<u32>(q) + jo;
          v128.store(w, f32x4.add(v128.load(w), f32x4.mul(v128.load32_splat(q, 4), g)));
        }
      }
    } else if (ASC_FEATURE_SIMD) {
      // the direct loop: index, pixel and dweight-row address per non-zero, per column block
      for (; j + 32 <= OC; j += 32) {
        const jo = <usize>j << 2;
        const g0 = v128.load(d + jo), g1 = v128.load(d + jo, 16), g2 = v128.load(d + jo, 32), g3 = v128.load(d + jo, 48);
        const g4 = v128.load(d + jo, 64), g5 = v128.load(d + jo, 80), g6 = v128.load(d + jo, 96), g7 = v128.load(d + jo, 112);
        for (let p = p0; p < p1; p += 4) {
          const k = <usize>load<i32>(p);
          const v = f32x4.splat(<f32>load<u8>(img + k) * scale);
          const w = dweight + k * rowO + jo;
          v128.store(w, f32x4.add(v128.load(w), f32x4.mul(v, g0)));
          v128.store(w, f32x4.add(v128.load(w, 16), f32x4.mul(v, g1)), 16);
          v128.store(w, f32x4.add(v128.load(w, 32), f32x4.mul(v, g2)), 32);
          v128.store(w, f32x4.add(v128.load(w, 48), f32x4.mul(v, g3)), 48);
          v128.store(w, f32x4.add(v128.load(w, 64), f32x4.mul(v, g4)), 64);
          v128.store(w, f32x4.add(v128.load(w, 80), f32x4.mul(v, g5)), 80);
          v128.store(w, f32x4.add(v128.load(w, 96), f32x4.mul(v, g6)), 96);
          v128.store(w, f32x4.add(v128.load(w, 112), f32x4.mul(v, g7)), 112);
        }
      }
      for (; j + 4 <= OC; j += 4) {
        const jo = <usize>j << 2;
        const g = v128.load(d + jo);
        for (let p = p0; p < p1; p += 4) {
          const k = <usize>load<i32>(p);
          const w = dweight + k * rowO + jo;
          v128.store(w, f32x4.add(v128.load(w), f32x4.mul(f32x4.splat(<f32>load<u8>(img + k) * scale), g)));
        }
      }
    }
    if (!ASC_FEATURE_SIMD) {
      // scalar build: each non-zero adds v * (the dout row) to its dweight row (contiguous)
      for (let p = p0; p < p1; p += 4) {
        const k = <usize>load<i32>(p);
        const v = <f32>load<u8>(img + k) * scale;
        const w = dweight + k * rowO;
        for (let jj = 0; jj < OC; jj++) {
          const jo = <usize>jj << 2;
          store<f32>(w + jo, load<f32>(w + jo) + v * load<f32>(d + jo));
        }
      }
      j = OC;
    }
    for (; j < OC; j++) {
      const jo = <usize>j << 2;
      const g = load<f32>(d + jo);
      for (let p = p0; p < p1; p += 4) {
        const k = <usize>load<i32>(p);
        const w = dweight + k * rowO + jo;
        store<f32>(w, load<f32>(w) + <f32>load<u8>(img + k) * scale * g);
      }
    }
    if (dbias) {
      for (let jj = 0; jj < OC; jj++) {
        const jo = <usize>jj << 2;
        store<f32>(dbias + jo, load<f32>(dbias + jo) + load<f32>(d + jo));
      }
    }
  }
}
