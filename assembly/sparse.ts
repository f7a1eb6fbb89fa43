// The exact sparse first layer: MNIST pixels are ~81% zeros, and a zero input contributes nothing
// to X . W1 or to X^T . dZ. A dataset's non-zero structure is built once, in wasm memory:
//   nzStart is (rows + 1) i32 prefix offsets, nzIdx is (nnz) packed entries (column << 8 | pixel),
// so a batch touches only its rows' non-zeros, and one load gives a non-zero's column and value:
// the value is then read from a 256-entry table of pixel * scale built per call (valueTable), the
// same f32 product the kernels computed before, so the results do not change. (Measured on
// 784 -> 64 forward, MNIST: reading the pixel from the image and converting it per non-zero took
// 1.37x the time of the packed entry and the table.) Columns must be below 2^23 (nz_fill checks).
import { checkSpan } from './data';
import { scratch, SCRATCH_VALS_AT, SCRATCH_TOUCH_AT } from './scratch';
import { count_nonfinite, sgdVec, sgdPlainVec, sgdOne, momentumVec, momentumPlainVec, momentumOne, maskedCount, TINY4 } from './optim';
// the largest column count the packed entries hold; the column lists' widest layer (below)
import { NZ_MAX_COLUMNS as NZ_MAX_C, CSC_MAX_COLUMNS as CSC_MAX_C } from '../src/core/abi';

/** the table of <f32>pixel * scale for every u8 pixel, in the kernel scratch; returns its address */
// @ts-ignore: decorator
@inline
function valueTable(scale: f32): usize {
  const T = scratch() + SCRATCH_VALS_AT;
  for (let i = 0; i < 256; i++) store<f32>(T + (<usize>i << 2), <f32>i * scale);
  return T;
}

/** the column of a packed entry */
// @ts-ignore: decorator
@inline
function col(e: u32): usize {
  return <usize>(e >> 8);
}

/** the address of a packed entry's scaled value in the table T */
// @ts-ignore: decorator
@inline
function val(T: usize, e: u32): usize {
  return T + (<usize>(e & 255) << 2);
}

// The weight gradient of wide layers (SIMD): one image's non-zeros are first unpacked into (dW row
// address, scaled value) pairs in a scratch list, so the per-column-block loops pay one address
// load and one value load per non-zero instead of decoding the entry each time (784 -> 300: the
// direct loop took 1.12x the time). An image with more than LIST_CAP non-zeros takes the direct
// loop, and so do layers narrower than LIST_MIN_OC. (The forward product takes wide column blocks,
// csrRow, which beat the list there: 784 -> 128 0.92x, 784 -> 300 0.95x of the list's time.)
const LIST_CAP = 2048;
const LIST_MIN_OC = 96;
// The list lives where the batch column lists do (the kernel scratch, assembly/scratch.ts): a call
// takes one layout or the other, never both.
// @ts-ignore: decorator
@inline
function listBase(): usize {
  return scratch() + CSC_LIST_AT;
}

/** unpack the packed entries [p0, p1) into the list at LIST; returns the end of the list */
// @ts-ignore: decorator
@inline
function unpack(LIST: usize, p0: usize, p1: usize, T: usize, base: usize, rowO: usize): usize {
  let q = LIST;
  for (let p = p0; p < p1; p += 4) {
    const e = load<u32>(p);
    store<u32>(q, <u32>(base + col(e) * rowO));
    store<u32>(q, load<u32>(val(T, e)), 4);
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

// nzIdx is (nnz) packed entries, column << 8 | pixel, of each non-zero of src, row after row
export function nz_fill(nzIdx: usize, nzStart: usize, src: usize, rows: i32, C: i32): void {
  assert(C <= NZ_MAX_C, 'nz_fill: more than 2^23 columns do not fit the packed entries');
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
          const cc = c + <i32>ctz(m);
          store<i32>(at, (cc << 8) | <i32>load<u8>(row + cc));
          at += 4;
          m &= m - 1;
        }
      }
    }
    for (; c < C; c++) {
      const x = <i32>load<u8>(row + c);
      if (x != 0) {
        store<i32>(at, (c << 8) | x);
        at += 4;
      }
    }
  }
}

/**
 * Loads one word of every cache line of the batch rows' packed entries, before a kernel walks them.
 * The rows of a shuffled batch are scattered over the dataset's lists (36 MB for MNIST's training
 * set): walked row by row, each row's first lines miss one after another; these loads have no
 * dependencies, so the core keeps many misses in flight at once. The xor of the words is stored so
 * that no compiler drops the loads. Measured on shuffled MNIST batches of 64 (`node bench/ab/kernels.mjs`):
 * the 784 -> 4 forward product 0.52x the time, 784 -> 64 0.83x; whole W1 epochs 0.93-0.94x
 * (`node bench/ab/epochs.mjs`). Batches of more rows are touched TOUCH_ROWS rows at a time, so the
 * touched lines are still in L1 / L2 when the row loop reaches them.
 */
const TOUCH_ROWS = 64;
function touchRows(nzStart: usize, nzIdx: usize, idx: usize, B: i32): void {
  // consecutive rows (evaluation, a dataset in order) are one stream the hardware prefetches
  if (load<i32>(idx + (<usize>(B - 1) << 2)) - load<i32>(idx) == B - 1) return;
  let s: u32 = 0;
  for (let b = 0; b < B; b++) {
    const r = <usize>load<i32>(idx + (<usize>b << 2));
    const p1 = nzIdx + (<usize>load<i32>(nzStart + ((r + 1) << 2)) << 2);
    for (let p = nzIdx + (<usize>load<i32>(nzStart + (r << 2)) << 2); p < p1; p += 64) s ^= load<u32>(p);
  }
  store<u32>(scratch() + SCRATCH_TOUCH_AT, s);
}

// out (B, OC) = X . weight + bias, X's row b being row idx[b] of the u8 dataset whose packed non-zeros
// nzStart / nzIdx hold (nz_count, nz_fill), each pixel times scale; weight is (C, OC), bias is (OC) or 0
export function sparse_matmul_forward(out: usize, nzStart: usize, nzIdx: usize, idx: usize, weight: usize, bias: usize, B: i32, C: i32, OC: i32, scale: f32): void {
  checkSpan(out, B * OC, 4);
  checkSpan(idx, B, 4);
  checkSpan(weight, C * OC, 4);
  if (ASC_FEATURE_SIMD && useColumnLists(C, OC)) {
    csc_forward(out, nzStart, nzIdx, idx, weight, bias, B, C, OC, scale);
    return;
  }
  const rowO = <usize>OC << 2;
  const T = valueTable(scale);
  for (let b = 0; b < B; b++) {
    if (!(b & (TOUCH_ROWS - 1))) touchRows(nzStart, nzIdx, idx + (<usize>b << 2), min(TOUCH_ROWS, B - b));
    const r = load<i32>(idx + (<usize>b << 2));
    const p0 = nzIdx + (<usize>load<i32>(nzStart + (<usize>r << 2)) << 2);
    const p1 = nzIdx + (<usize>load<i32>(nzStart + ((<usize>r + 1) << 2)) << 2);
    const o = out + <usize>b * rowO;
    let j = 0;
    if (ASC_FEATURE_SIMD) j = csrRow(o, p0, p1, T, weight, bias, rowO, OC);
    else {
      // scalar build: stream each non-zero's weight row into the output row (contiguous)
      for (let jj = 0; jj < OC; jj++) store<f32>(o + (<usize>jj << 2), bias ? load<f32>(bias + (<usize>jj << 2)) : 0);
      for (let p = p0; p < p1; p += 4) {
        const e = load<u32>(p);
        const v = load<f32>(val(T, e));
        const w = weight + col(e) * rowO;
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
        const e = load<u32>(p);
        a += load<f32>(val(T, e)) * load<f32>(weight + col(e) * rowO + jo);
      }
      store<f32>(o + jo, a);
    }
  }
}

/**
 * One output row of the direct loop (SIMD): the entry is decoded per column block, so the blocks
 * are as wide as the registers allow: 48 columns (12 accumulators, the value and a product: V8 on
 * x64 allocates 15 xmm registers, xmm15 being its scratch, and 56 columns spilled an accumulator to
 * the stack in every iteration), then 32, 16, 8 and 4 (784 -> 64 takes 48 + 16; 784 -> 128 ran
 * 0.96x the time of 56 + 56 + 16). Its own function: inside sparse_matmul_forward V8 allocated the
 * accumulators worse (measured 1.5x slower).
 * Returns the first column not done (the scalar tail's).
 */
function csrRow(o: usize, p0: usize, p1: usize, T: usize, weight: usize, bias: usize, rowO: usize, OC: i32): i32 {
  let j = 0;
  for (; j + 48 <= OC; j += 48) {
    const jo = <usize>j << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    if (bias) {
      a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16); a2 = v128.load(bias + jo, 32); a3 = v128.load(bias + jo, 48);
      a4 = v128.load(bias + jo, 64); a5 = v128.load(bias + jo, 80); a6 = v128.load(bias + jo, 96); a7 = v128.load(bias + jo, 112);
      a8 = v128.load(bias + jo, 128); a9 = v128.load(bias + jo, 144); a10 = v128.load(bias + jo, 160); a11 = v128.load(bias + jo, 176);
    }
    for (let p = p0; p < p1; p += 4) {
      const e = load<u32>(p);
      const v = v128.load32_splat(val(T, e));
      const w = weight + col(e) * rowO + jo;
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(w, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(w, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(w, 48)));
      a4 = f32x4.add(a4, f32x4.mul(v, v128.load(w, 64)));
      a5 = f32x4.add(a5, f32x4.mul(v, v128.load(w, 80)));
      a6 = f32x4.add(a6, f32x4.mul(v, v128.load(w, 96)));
      a7 = f32x4.add(a7, f32x4.mul(v, v128.load(w, 112)));
      a8 = f32x4.add(a8, f32x4.mul(v, v128.load(w, 128)));
      a9 = f32x4.add(a9, f32x4.mul(v, v128.load(w, 144)));
      a10 = f32x4.add(a10, f32x4.mul(v, v128.load(w, 160)));
      a11 = f32x4.add(a11, f32x4.mul(v, v128.load(w, 176)));
    }
    v128.store(o + jo, a0); v128.store(o + jo, a1, 16); v128.store(o + jo, a2, 32); v128.store(o + jo, a3, 48);
    v128.store(o + jo, a4, 64); v128.store(o + jo, a5, 80); v128.store(o + jo, a6, 96); v128.store(o + jo, a7, 112);
    v128.store(o + jo, a8, 128); v128.store(o + jo, a9, 144); v128.store(o + jo, a10, 160); v128.store(o + jo, a11, 176);
  }
  for (; j + 32 <= OC; j += 32) {
    const jo = <usize>j << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    if (bias) {
      a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16); a2 = v128.load(bias + jo, 32); a3 = v128.load(bias + jo, 48);
      a4 = v128.load(bias + jo, 64); a5 = v128.load(bias + jo, 80); a6 = v128.load(bias + jo, 96); a7 = v128.load(bias + jo, 112);
    }
    for (let p = p0; p < p1; p += 4) {
      const e = load<u32>(p);
      const v = v128.load32_splat(val(T, e));
      const w = weight + col(e) * rowO + jo;
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
  for (; j + 16 <= OC; j += 16) {
    const jo = <usize>j << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    if (bias) {
      a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16); a2 = v128.load(bias + jo, 32); a3 = v128.load(bias + jo, 48);
    }
    for (let p = p0; p < p1; p += 4) {
      const e = load<u32>(p);
      const v = v128.load32_splat(val(T, e));
      const w = weight + col(e) * rowO + jo;
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(w, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(w, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(w, 48)));
    }
    v128.store(o + jo, a0); v128.store(o + jo, a1, 16); v128.store(o + jo, a2, 32); v128.store(o + jo, a3, 48);
  }
  for (; j + 8 <= OC; j += 8) {
    const jo = <usize>j << 2;
    let a0 = f32x4.splat(0), a1 = a0;
    if (bias) {
      a0 = v128.load(bias + jo); a1 = v128.load(bias + jo, 16);
    }
    for (let p = p0; p < p1; p += 4) {
      const e = load<u32>(p);
      const v = v128.load32_splat(val(T, e));
      const w = weight + col(e) * rowO + jo;
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(w, 16)));
    }
    v128.store(o + jo, a0); v128.store(o + jo, a1, 16);
  }
  for (; j + 4 <= OC; j += 4) {
    const jo = <usize>j << 2;
    let a0 = f32x4.splat(0);
    if (bias) {
      a0 = v128.load(bias + jo);
    }
    for (let p = p0; p < p1; p += 4) {
      const e = load<u32>(p);
      const v = v128.load32_splat(val(T, e));
      const w = weight + col(e) * rowO + jo;
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(w)));
    }
    v128.store(o + jo, a0);
  }
  return j;
}

// dweight (C, OC) += X^T . dout and dbias (OC) += column sums of dout (skipped when 0), X given as
// in sparse_matmul_forward; dout is (B, OC). Only the rows of dweight at non-zero inputs change.
// (dweight 0: only dbias, for the fused first-layer step of sparse_update)
export function sparse_matmul_backward(dweight: usize, dbias: usize, dout: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32): void {
  sparse_matmul_backward_rows(dweight, dbias, dout, nzStart, nzIdx, idx, B, C, OC, scale, 0, C);
}

/**
 * sparse_matmul_backward into the rows of dweight for inputs [k0, k1) only (dbias as usual, when
 * given): a row's sums do not depend on the range, so threads that take complementary ranges
 * (src/backends/wasm/threads.ts) leave exactly what one call would.
 */
export function sparse_matmul_backward_rows(dweight: usize, dbias: usize, dout: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32, k0: i32, k1: i32): void {
  assert(k0 >= 0 && k0 <= k1 && k1 <= C, 'input range outside the layer');
  const whole = k0 == 0 && k1 == C;
  if (!dweight) {
    checkSpan(dout, B * OC, 4);
    if (dbias) columnSums(dbias, dout, B, OC);
    return;
  }
  checkSpan(dweight, C * OC, 4);
  checkSpan(dout, B * OC, 4);
  checkSpan(idx, B, 4);
  if (ASC_FEATURE_SIMD && useColumnLists(C, OC)) {
    csc_backward(dweight, dbias, dout, nzStart, nzIdx, idx, B, C, OC, scale, k0, k1);
    return;
  }
  const rowO = <usize>OC << 2;
  const LIST = listBase();
  const T = valueTable(scale);
  for (let b = 0; b < B; b++) {
    const r = load<i32>(idx + (<usize>b << 2));
    let p0 = nzIdx + (<usize>load<i32>(nzStart + (<usize>r << 2)) << 2);
    let p1 = nzIdx + (<usize>load<i32>(nzStart + ((<usize>r + 1) << 2)) << 2);
    if (!whole) {
      p0 = firstAtOrPast(p0, p1, k0);
      p1 = firstAtOrPast(p0, p1, k1);
    }
    const d = dout + <usize>b * rowO;
    let j = 0;
    if (ASC_FEATURE_SIMD && OC >= LIST_MIN_OC && <i32>((p1 - p0) >> 2) <= LIST_CAP) {
      const qEnd = unpack(LIST, p0, p1, T, dweight, rowO);
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
          const e = load<u32>(p);
          const v = v128.load32_splat(val(T, e));
          const w = dweight + col(e) * rowO + jo;
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
          const e = load<u32>(p);
          const w = dweight + col(e) * rowO + jo;
          v128.store(w, f32x4.add(v128.load(w), f32x4.mul(v128.load32_splat(val(T, e)), g)));
        }
      }
    }
    if (!ASC_FEATURE_SIMD) {
      // scalar build: each non-zero adds v * (the dout row) to its dweight row (contiguous)
      for (let p = p0; p < p1; p += 4) {
        const e = load<u32>(p);
        const v = load<f32>(val(T, e));
        const w = dweight + col(e) * rowO;
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
        const e = load<u32>(p);
        const w = dweight + col(e) * rowO + jo;
        store<f32>(w, load<f32>(w) + load<f32>(val(T, e)) * g);
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

// ---- column lists of one batch (CSC) ----
// Per batch, the rows' non-zeros are regrouped by input column: for each pixel k, the list of
// (output-row byte offset, scaled value) of the batch rows where it is non-zero, in row order.
// The forward product then loads a block of W row k into registers once per batch and adds it
// into each listed output row (an L1-resident block of out), and the weight gradient accumulates a
// block of dW row k in registers over the listed dout rows and stores it once (both take the
// lists in pairs of columns where they pay, below):
// W and dW are streamed in order once per column block instead of gathered row by row per image.
// The additions happen in the same order as the row-by-row loops (k ascending into each output;
// rows ascending into each dW element), so the results are bit-identical to them. Layers of at most
// CSC_MAX_C inputs (src/core/abi.ts) take this path.
const CSC_CAP = 65536;
// rows per chunk of the gradient kernels: one chunk for the usual batches (a second chunk costs a
// round trip of the partial sums through dweight); a 16-column block of dout (256 x 64 bytes) is 16 KiB
const CSC_ROWS = 256;
// rows per chunk of the forward product, whose output block is read and written per entry: 64 rows
// keep it in L1 (measured at B = 1000, 784 -> 800, 32-column blocks: 64 rows 0.96x of 128, 0.87x of
// 256; with the pair lists' 16-column blocks at B = 128: 64 rows 0.97x of 32, 0.84x of 128)
const CSC_ROWS_FWD = 64;
// both live in the scratch region above the static data (assembly/scratch.ts), not in the binary
const CSC_LIST_AT: usize = 16400;

// ---- column lists in pairs of columns ----
// Wide layers take the lists in pairs of columns (cscBuildPairs): one entry (output-row offset,
// the value of column 2q, the value of column 2q + 1) for every batch row where either is non-zero,
// the other value 0. MNIST's strokes are wider than a pixel: 83% of its non-zeros have a non-zero
// neighbour in their pair, so the pair entries are 0.585x as many as the non-zeros
// (8,994,156 -> 5,257,518 over the training set), and each entry adds two products to an output
// block that is loaded and stored once (forward product) or one dout block loaded once into two
// rows of sums (weight gradient). The sums keep their order (each output adds its columns in
// ascending order, each dW row its batch rows in ascending order), and an added product 0 * w is
// +-0, which leaves a sum as it is unless the sum is -0: round-to-nearest gives -0 only for
// -0 + -0, so a sum is -0 only while it started at -0 (a bias or dweight element) and had zero
// products alone. The results are bit-identical to the single lists' but for the sign of such a
// zero (test/ops.sparse.test.ts compares the simd build's lists with the scalar build's row loops).
// Measured against the single lists (`node bench/ab/kernels.mjs --b OLD.wasm --kernel
// sparse-fwd,sparse-upd,sparse-sgd --shape BxCxOC`, medians of 24-40 pairs): forward product 784 ->
// 800 at B = 128 0.90-0.95x, at B = 1000 0.87x shuffled and 0.96x in order; fused momentum update
// 784 -> 800 at B = 128 0.88x; SGD at B = 64: 784 -> 300 0.96x, 784 -> 128 1.00x, 784 -> 96 1.02x,
// 784 -> 64 1.04x. The narrow layers lose because the pair lists cost 1.35x the single lists to
// build (the pairing is a data-dependent branch; two branch-free forms measured 1.1-1.5x slower
// still), which the wide layers' 50 column blocks repay.
/** the narrowest layer whose fused update and weight gradient take the pair lists */
const PAIR_MIN_OC = 256;
/** non-zeros a chunk of pair lists may hold: 12-byte entries in the lists' 512 KiB */
const CSC_PAIR_CAP = (CSC_CAP * 8) / 12;

/**
 * Whether a layer takes the column lists: when its weights outgrow L2 (here 2 MiB; 784 x 800 f32
 * is 2.5 MB), the row-by-row loops gather every non-zero's weight row from L3 once per image,
 * while the lists stream W once per batch. Smaller layers stay row by row, which measured faster
 * while W stays in cache (784-64: CSR 0.90x the time of the lists).
 */
// @ts-ignore: decorator
@inline
function useColumnLists(C: i32, OC: i32): bool {
  return C <= CSC_MAX_C && <i64>C * <i64>OC >= CSC_MIN_WEIGHTS;
}
const CSC_MIN_WEIGHTS: i64 = 1 << 18; // 1 MiB of f32

/** cscBuildAny with single lists: an 8-byte entry (output-row byte offset, scaled value) per non-zero */
function cscBuild(nzStart: usize, nzIdx: usize, idx: usize, b0: i32, B: i32, C: i32, rowO: usize, scale: f32, maxRows: i32, k0: i32, k1: i32): i32 {
  return cscBuildAny(false, nzStart, nzIdx, idx, b0, B, C, rowO, scale, maxRows, k0, k1);
}

/** cscBuildAny with pair lists (see "column lists in pairs of columns" above) */
function cscBuildPairs(nzStart: usize, nzIdx: usize, idx: usize, b0: i32, B: i32, C: i32, rowO: usize, scale: f32, maxRows: i32, k0: i32, k1: i32): i32 {
  return cscBuildAny(true, nzStart, nzIdx, idx, b0, B, C, rowO, scale, maxRows, k0, k1);
}

/**
 * Builds the column lists of batch rows [b0, B) for the inputs [k0, k1), as many rows as fit the
 * lists' memory; returns the row after the last one taken. Slot s is input column s (single lists)
 * or the pair (k0 + 2s, k0 + 2s + 1) (pair lists: relative to k0, as a range may start at an odd
 * column); afterwards slot s's entries are [CSC_END[s-1], CSC_END[s]). Inlined into cscBuild and
 * cscBuildPairs, each compiled for its constant `pairs`.
 */
// @ts-ignore: decorator
@inline
function cscBuildAny(pairs: bool, nzStart: usize, nzIdx: usize, idx: usize, b0: i32, B: i32, C: i32, rowO: usize, scale: f32, maxRows: i32, k0: i32, k1: i32): i32 {
  const CSC_END = scratch(), CSC_LIST = CSC_END + CSC_LIST_AT;
  const T = valueTable(scale);
  // an entry's slot is (entry - key0) >> shift: its column (single lists), or its pair relative to k0
  const slots = pairs ? (k1 - k0 + 1) >> 1 : C;
  const key0: u32 = pairs ? <u32>k0 << 8 : 0, shift: u32 = pairs ? 9 : 8;
  const whole = k0 == 0 && k1 == C;
  memory.fill(CSC_END, 0, (<usize>slots + 1) << 2);
  // counts of slot s at CSC_END[s + 1]
  let total = 0, b = b0;
  for (; b < B; b++) {
    const r = <usize>load<i32>(idx + (<usize>b << 2));
    const s0 = load<i32>(nzStart + (r << 2)), s1 = load<i32>(nzStart + ((r + 1) << 2));
    if (total + (s1 - s0) > (pairs ? CSC_PAIR_CAP : CSC_CAP) || b - b0 == maxRows) break;
    total += s1 - s0;
    let p = nzIdx + (<usize>s0 << 2), p1 = nzIdx + (<usize>s1 << 2);
    if (!whole) {
      // a row's entries are in column order: its part in [k0, k1) is one run
      p = firstAtOrPast(p, p1, k0);
      p1 = firstAtOrPast(p, p1, k1);
    }
    let prev: u32 = -1;
    for (; p < p1; p += 4) {
      const q = (load<u32>(p) - key0) >> shift;
      const c = CSC_END + ((<usize>q + 1) << 2);
      // (a pair's second column is the entry after its first, and counts no new entry)
      store<i32>(c, load<i32>(c) + (pairs ? <i32>(q != prev) : 1));
      prev = q;
    }
  }
  // slot s = start of its entries
  let run = 0;
  for (let q = 1; q <= slots; q++) {
    const c = CSC_END + (<usize>q << 2);
    run += load<i32>(c);
    store<i32>(c, run);
  }
  // scatter; slot s advances from the start to the end of its entries
  for (let bb = b0; bb < b; bb++) {
    const r = <usize>load<i32>(idx + (<usize>bb << 2));
    const off = <u32>(<usize>bb * rowO);
    let p = nzIdx + (<usize>load<i32>(nzStart + (r << 2)) << 2);
    let p1 = nzIdx + (<usize>load<i32>(nzStart + ((r + 1) << 2)) << 2);
    if (!whole) {
      p = firstAtOrPast(p, p1, k0);
      p1 = firstAtOrPast(p, p1, k1);
    }
    let prev: u32 = -1;
    let e: usize = 0;
    for (; p < p1; p += 4) {
      const en = load<u32>(p);
      const q = (en - key0) >> shift;
      if (!pairs || q != prev) {
        const c = CSC_END + (<usize>q << 2);
        const at = load<i32>(c);
        store<i32>(c, at + 1);
        e = CSC_LIST + <usize>at * (pairs ? 12 : 8);
        store<u32>(e, off);
        if (pairs) store<u64>(e, 0, 4);
        prev = q;
      }
      // the value, in the pair entry's slot of its column (a single entry's only one)
      store<u32>(e + 4 + (pairs ? (<usize>((en - key0) >> 8) & 1) << 2 : 0), load<u32>(val(T, en)));
    }
  }
  return b;
}

/** the first entry in [p, p1) (packed, in column order) whose column is >= k (binary search) */
function firstAtOrPast(p: usize, p1: usize, k: i32): usize {
  const key = <u32>k << 8;
  let n = (p1 - p) >> 2;
  while (n > 0) {
    const half = n >> 1;
    if (load<u32>(p + (half << 2)) < key) {
      p += (half + 1) << 2;
      n -= half + 1;
    } else n = half;
  }
  return p;
}

/**
 * The forward product of wide layers over the pair lists: per 16-column block, the block of W rows
 * 2q and 2q + 1 in 8 registers, added into each listed output row as (out + u * w) + v * x, the
 * order of the row loops. (24-column blocks, 12 registers of W, took 1.075x the time: V8 then
 * spills; 32 would need 16.)
 */
function csc_forward(out: usize, nzStart: usize, nzIdx: usize, idx: usize, weight: usize, bias: usize, B: i32, C: i32, OC: i32, scale: f32): void {
  const CSC_END = scratch(), CSC_LIST = CSC_END + CSC_LIST_AT;
  const rowO = <usize>OC << 2;
  const P = (C + 1) >> 1;
  let b0 = 0;
  while (b0 < B) {
    const b1 = cscBuildPairs(nzStart, nzIdx, idx, b0, B, C, rowO, scale, CSC_ROWS_FWD, 0, C);
    for (let b = b0; b < b1; b++) {
      const o = out + <usize>b * rowO;
      if (bias) memory.copy(o, bias, rowO);
      else memory.fill(o, 0, rowO);
    }
    let j = 0;
    for (; j + 16 <= OC; j += 16) {
      const jo = <usize>j << 2;
      const ob = out + jo;
      let e = CSC_LIST;
      for (let q = 0; q < P; q++) {
        const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * 12;
        if (e == e1) continue;
        const w = weight + (<usize>q << 1) * rowO + jo;
        const w0 = v128.load(w), w1 = v128.load(w, 16), w2 = v128.load(w, 32), w3 = v128.load(w, 48);
        let x0 = f32x4.splat(0), x1 = x0, x2 = x0, x3 = x0;
        if ((q << 1) + 1 < C) {
          const x = w + rowO;
          x0 = v128.load(x); x1 = v128.load(x, 16); x2 = v128.load(x, 32); x3 = v128.load(x, 48);
        }
        for (; e < e1; e += 12) {
          const o = ob + <usize>load<u32>(e);
          const u = v128.load32_splat(e, 4), v = v128.load32_splat(e, 8);
          v128.store(o, f32x4.add(f32x4.add(v128.load(o), f32x4.mul(u, w0)), f32x4.mul(v, x0)));
          v128.store(o, f32x4.add(f32x4.add(v128.load(o, 16), f32x4.mul(u, w1)), f32x4.mul(v, x1)), 16);
          v128.store(o, f32x4.add(f32x4.add(v128.load(o, 32), f32x4.mul(u, w2)), f32x4.mul(v, x2)), 32);
          v128.store(o, f32x4.add(f32x4.add(v128.load(o, 48), f32x4.mul(u, w3)), f32x4.mul(v, x3)), 48);
        }
      }
    }
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      const ob = out + jo;
      let e = CSC_LIST;
      for (let q = 0; q < P; q++) {
        const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * 12;
        if (e == e1) continue;
        const w = weight + (<usize>q << 1) * rowO + jo;
        const w0 = v128.load(w);
        const x0 = (q << 1) + 1 < C ? v128.load(w + rowO) : f32x4.splat(0);
        for (; e < e1; e += 12) {
          const o = ob + <usize>load<u32>(e);
          v128.store(o, f32x4.add(f32x4.add(v128.load(o), f32x4.mul(v128.load32_splat(e, 4), w0)), f32x4.mul(v128.load32_splat(e, 8), x0)));
        }
      }
    }
    for (; j < OC; j++) {
      const jo = <usize>j << 2;
      const ob = out + jo;
      let e = CSC_LIST;
      for (let q = 0; q < P; q++) {
        const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * 12;
        const w = weight + (<usize>q << 1) * rowO + jo;
        const w0 = load<f32>(w);
        const x0: f32 = (q << 1) + 1 < C ? load<f32>(w + rowO) : 0;
        for (; e < e1; e += 12) {
          const o = ob + <usize>load<u32>(e);
          store<f32>(o, load<f32>(o) + load<f32>(e, 4) * w0 + load<f32>(e, 8) * x0);
        }
      }
    }
    b0 = b1;
  }
}

function csc_backward(dweight: usize, dbias: usize, dout: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32, k0: i32, k1: i32): void {
  // the fused step's loop with neither its first nor its last chunk: dweight += each chunk's sums
  const rowO = <usize>OC << 2;
  const pairs = OC >= PAIR_MIN_OC;
  let b0 = 0;
  while (b0 < B) {
    const b1 = pairs ? cscBuildPairs(nzStart, nzIdx, idx, b0, B, C, rowO, scale, CSC_ROWS, k0, k1) : cscBuild(nzStart, nzIdx, idx, b0, B, C, rowO, scale, CSC_ROWS, k0, k1);
    if (pairs) cscStepPairs(0, 0, dweight, dout, k0, k1, OC, false, false, 0, 0, 0, 0);
    else cscStep(0, 0, dweight, dout, k0, k1, OC, false, false, 0, 0, 0, 0);
    b0 = b1;
  }
  if (dbias) columnSums(dbias, dout, B, OC);
}

// ---- the first layer's optimizer step, fused with its weight gradient ----
// weight (C, OC) takes one step of SGD (vel = 0) or momentum / Nesterov (vel (C, OC)) with the
// gradient dW = X^T . dout that sparse_matmul_backward would accumulate into zeros, X given as in
// sparse_matmul_forward. dW is never stored: each 16-column block of a row of dW is summed in
// registers over the batch column lists, then the update of sgd_update / momentum_update (same
// arithmetic, assembly/optim.ts) is applied to that block of weight and vel. The weight gradient,
// its zero fill and the update's reads of it leave the memory traffic of every step (W2: 2.5 MB
// of W, 3 of its 5 streams). dweight (C, OC) is only scratch: it holds the partial sums when the
// batch needs more than one list chunk (more than CSC_ROWS rows or CSC_CAP non-zeros), and the
// whole gradient when C > CSC_MAX_C; otherwise it is not touched.
// Divergence guard, as in the updates: if dout holds NaN or Inf nothing changes and their count
// is returned (> 0); weights whose new value would not be finite keep their old value and state
// and are counted (returned negated; 0 = all applied). (A gradient that overflows to Inf from a
// finite dout is therefore reported as kept weights, where the unfused update reports it as a bad
// gradient: both stop training with the weights as the guard left them.)
export function sparse_update(weight: usize, vel: usize, dweight: usize, dout: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32, lr64: f64, mu64: f64, wd64: f64, nesterov: i32): i32 {
  return sparse_update_rows(weight, vel, dweight, dout, nzStart, nzIdx, idx, B, C, OC, scale, lr64, mu64, wd64, nesterov, 0, C);
}

/**
 * sparse_update of the weight rows [k0, k1) only (the inputs k0..k1-1; vel likewise): a row's sums
 * and update do not depend on the range, so two threads that take complementary ranges
 * (src/backends/wasm/threads.ts) leave exactly what one call would, and each builds only its own
 * rows' column lists, in its own scratch. The returned count covers the range (the divergence check
 * of dout covers all of it). A layer wider than CSC_MAX_C inputs takes the whole range only.
 */
export function sparse_update_rows(weight: usize, vel: usize, dweight: usize, dout: usize, nzStart: usize, nzIdx: usize, idx: usize, B: i32, C: i32, OC: i32, scale: f32, lr64: f64, mu64: f64, wd64: f64, nesterov: i32, k0: i32, k1: i32): i32 {
  checkSpan(weight, C * OC, 4);
  checkSpan(dweight, C * OC, 4);
  checkSpan(dout, B * OC, 4);
  checkSpan(idx, B, 4);
  if (vel) checkSpan(vel, C * OC, 4);
  const bad = count_nonfinite(dout, B * OC);
  if (bad) return bad;
  const lr = <f32>lr64, mu = <f32>mu64, wd = <f32>wd64;
  assert(k0 >= 0 && k0 <= k1 && k1 <= C, 'input range outside the layer');
  if (C > CSC_MAX_C) {
    assert(k0 == 0 && k1 == C, 'input ranges need the column lists');
    // no column lists: the gradient through dweight, then the update's own loop
    memory.fill(dweight, 0, (<usize>C * <usize>OC) << 2);
    sparse_matmul_backward(dweight, 0, dout, nzStart, nzIdx, idx, B, C, OC, scale);
    return -applyRows(weight, vel, dweight, C * OC, lr, mu, wd, nesterov);
  }
  const rowO = <usize>OC << 2;
  let kept = 0, b0 = 0;
  const pairs = OC >= PAIR_MIN_OC;
  do {
    const b1 = pairs ? cscBuildPairs(nzStart, nzIdx, idx, b0, B, C, rowO, scale, CSC_ROWS, k0, k1) : cscBuild(nzStart, nzIdx, idx, b0, B, C, rowO, scale, CSC_ROWS, k0, k1);
    kept += pairs
      ? cscStepPairs(weight, vel, dweight, dout, k0, k1, OC, b0 == 0, b1 == B, lr, mu, wd, nesterov)
      : cscStep(weight, vel, dweight, dout, k0, k1, OC, b0 == 0, b1 == B, lr, mu, wd, nesterov);
    b0 = b1;
  } while (b0 < B);
  return -kept;
}

/** the update of every element of weight (N) with gradient grads; returns the count kept */
function applyRows(weight: usize, vel: usize, grads: usize, N: i32, lr: f32, mu: f32, wd: f32, nesterov: i32): i32 {
  let kept = 0;
  for (let i = 0; i < N; i++) {
    const o = <usize>i << 2;
    kept += vel ? momentumOne(weight + o, vel + o, load<f32>(grads + o), lr, mu, wd, nesterov) : sgdOne(weight + o, load<f32>(grads + o), lr, wd);
  }
  return kept;
}

/** cscStepAny over single lists */
function cscStep(weight: usize, vel: usize, dweight: usize, dout: usize, k0: i32, k1: i32, OC: i32, first: bool, last: bool, lr: f32, mu: f32, wd: f32, nesterov: i32): i32 {
  return cscStepAny(false, weight, vel, dweight, dout, k0, k1, OC, first, last, lr, mu, wd, nesterov);
}

/** cscStepAny over pair lists */
function cscStepPairs(weight: usize, vel: usize, dweight: usize, dout: usize, k0: i32, k1: i32, OC: i32, first: bool, last: bool, lr: f32, mu: f32, wd: f32, nesterov: i32): i32 {
  return cscStepAny(true, weight, vel, dweight, dout, k0, k1, OC, first, last, lr, mu, wd, nesterov);
}

/**
 * One chunk of column lists (cscBuildAny, the same `pairs`): each row of dW summed over the chunk's
 * entries, starting from 0 (first chunk) or the partial sums in dweight; stored to dweight unless
 * this is the last chunk, which applies the update instead (finish16, finish4). A pair entry adds
 * to two rows of sums from one load of dout. Returns the count kept.
 */
// @ts-ignore: decorator
@inline
function cscStepAny(pairs: bool, weight: usize, vel: usize, dweight: usize, dout: usize, k0: i32, k1: i32, OC: i32, first: bool, last: bool, lr: f32, mu: f32, wd: f32, nesterov: i32): i32 {
  const CSC_END = scratch(), CSC_LIST = CSC_END + CSC_LIST_AT;
  const rowO = <usize>OC << 2;
  // the slots of [k0, k1): its pairs, or its columns
  const q0 = pairs ? 0 : k0, q1 = pairs ? (k1 - k0 + 1) >> 1 : k1;
  const size: usize = pairs ? 12 : 8;
  // plain SGD without decay leaves a weight with a zero gradient exactly as it is
  const skipEmpty = first && last && !vel && wd == 0;
  // plain momentum and SGD without weight decay take the shorter updates (momentumPlainVec, sgdPlainVec)
  const plain = vel && !nesterov && wd == 0;
  // what finish16 / finish4 do with a block of sums
  const mode = !last ? KEEP_SUMS : plain ? PLAIN_MOMENTUM : vel ? MOMENTUM : wd == 0 ? PLAIN_SGD : SGD;
  let kept = 0, j = 0;
  if (ASC_FEATURE_SIMD) {
    // 16-column blocks: TurboFan issues a block's dout loads ahead of its multiply-adds, so a block
    // of 8 vectors held 8 loads + 8 accumulators + the value, more than the 15 xmm registers V8
    // allocates, and spilled an accumulator and a load to the stack in every iteration (node
    // --print-wasm-code); 4 + 4 + 1 fit. W1's update took 0.80-0.86x the time in the quiet epochs
    // (the minimum of 16; medians equal within noise), W2's about the same (node bench/ab/epochs.mjs
    // --b OLD.wasm --kernels sparse_update, both orders). (Pairs: 8 sums, 2 values, 4 loads, no spill.)
    const vlr = f32x4.splat(lr), vmu = f32x4.splat(mu), vwd = f32x4.splat(wd);
    const vcg = f32x4.splat(nesterov ? 1 : 0), vcv = nesterov ? vmu : f32x4.splat(1), vtiny = v128.load(TINY4);
    let bad = i32x4.splat(0);
    for (; j + 16 <= OC; j += 16) {
      const jo = <usize>j << 2;
      const db = dout + jo;
      let e = CSC_LIST;
      for (let q = q0; q < q1; q++) {
        const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * size;
        if (skipEmpty && e == e1) continue;
        const k = pairs ? k0 + (q << 1) : q;
        const two = pairs && k + 1 < k1;
        const ro = <usize>k * rowO + jo, rx = ro + rowO;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        if (!first) {
          const w = dweight + ro;
          a0 = v128.load(w); a1 = v128.load(w, 16); a2 = v128.load(w, 32); a3 = v128.load(w, 48);
          if (two) { b0 = v128.load(w + rowO); b1 = v128.load(w + rowO, 16); b2 = v128.load(w + rowO, 32); b3 = v128.load(w + rowO, 48); }
        }
        if (pairs) {
          for (; e < e1; e += 12) {
            const g = db + <usize>load<u32>(e);
            const u = v128.load32_splat(e, 4), v = v128.load32_splat(e, 8);
            const d0 = v128.load(g), d1 = v128.load(g, 16);
            a0 = f32x4.add(a0, f32x4.mul(u, d0));
            b0 = f32x4.add(b0, f32x4.mul(v, d0));
            a1 = f32x4.add(a1, f32x4.mul(u, d1));
            b1 = f32x4.add(b1, f32x4.mul(v, d1));
            const d2 = v128.load(g, 32), d3 = v128.load(g, 48);
            a2 = f32x4.add(a2, f32x4.mul(u, d2));
            b2 = f32x4.add(b2, f32x4.mul(v, d2));
            a3 = f32x4.add(a3, f32x4.mul(u, d3));
            b3 = f32x4.add(b3, f32x4.mul(v, d3));
          }
        } else {
          for (; e < e1; e += 8) {
            const g = db + <usize>load<u32>(e);
            const v = v128.load32_splat(e, 4);
            a0 = f32x4.add(a0, f32x4.mul(v, v128.load(g)));
            a1 = f32x4.add(a1, f32x4.mul(v, v128.load(g, 16)));
            a2 = f32x4.add(a2, f32x4.mul(v, v128.load(g, 32)));
            a3 = f32x4.add(a3, f32x4.mul(v, v128.load(g, 48)));
          }
        }
        bad = i32x4.add(bad, finish16(weight, vel, dweight, ro, a0, a1, a2, a3, mode, vlr, vmu, vwd, vcg, vcv, vtiny));
        if (two) bad = i32x4.add(bad, finish16(weight, vel, dweight, rx, b0, b1, b2, b3, mode, vlr, vmu, vwd, vcg, vcv, vtiny));
      }
    }
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      const db = dout + jo;
      let e = CSC_LIST;
      for (let q = q0; q < q1; q++) {
        const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * size;
        if (skipEmpty && e == e1) continue;
        const k = pairs ? k0 + (q << 1) : q;
        const two = pairs && k + 1 < k1;
        const ro = <usize>k * rowO + jo, rx = ro + rowO;
        let a = first ? f32x4.splat(0) : v128.load(dweight + ro);
        let b = first || !two ? f32x4.splat(0) : v128.load(dweight + rx);
        for (; e < e1; e += size) {
          const d = v128.load(db + <usize>load<u32>(e));
          a = f32x4.add(a, f32x4.mul(v128.load32_splat(e, 4), d));
          if (pairs) b = f32x4.add(b, f32x4.mul(v128.load32_splat(e, 8), d));
        }
        bad = i32x4.add(bad, finish4(weight, vel, dweight, ro, a, mode, vlr, vmu, vwd, vcg, vcv, vtiny));
        if (two) bad = i32x4.add(bad, finish4(weight, vel, dweight, rx, b, mode, vlr, vmu, vwd, vcg, vcv, vtiny));
      }
    }
    kept = maskedCount(bad);
  }
  for (; j < OC; j++) {
    const jo = <usize>j << 2;
    const db = dout + jo;
    let e = CSC_LIST;
    for (let q = q0; q < q1; q++) {
      const e1 = CSC_LIST + <usize>load<i32>(CSC_END + (<usize>q << 2)) * size;
      if (skipEmpty && e == e1) continue;
      const k = pairs ? k0 + (q << 1) : q;
      const two = pairs && k + 1 < k1;
      const ro = <usize>k * rowO + jo, rx = ro + rowO;
      let a: f32 = first ? 0 : load<f32>(dweight + ro);
      let b: f32 = first || !two ? 0 : load<f32>(dweight + rx);
      for (; e < e1; e += size) {
        const d = load<f32>(db + <usize>load<u32>(e));
        a += load<f32>(e, 4) * d;
        if (pairs) b += load<f32>(e, 8) * d;
      }
      if (!last) {
        store<f32>(dweight + ro, a);
        if (two) store<f32>(dweight + rx, b);
      } else {
        kept += vel ? momentumOne(weight + ro, vel + ro, a, lr, mu, wd, nesterov) : sgdOne(weight + ro, a, lr, wd);
        if (two) kept += vel ? momentumOne(weight + rx, vel + rx, b, lr, mu, wd, nesterov) : sgdOne(weight + rx, b, lr, wd);
      }
    }
  }
  return kept;
}

const KEEP_SUMS = 0, PLAIN_MOMENTUM = 1, MOMENTUM = 2, PLAIN_SGD = 3, SGD = 4;

/** a 16-column block of one dW row (a0..a3, at byte offset ro): stored (not the last chunk) or applied */
// @ts-ignore: decorator
@inline
function finish16(weight: usize, vel: usize, dweight: usize, ro: usize, a0: v128, a1: v128, a2: v128, a3: v128, mode: i32, vlr: v128, vmu: v128, vwd: v128, vcg: v128, vcv: v128, vtiny: v128): v128 {
  let bad = i32x4.splat(0);
  if (mode == KEEP_SUMS) {
    const w = dweight + ro;
    v128.store(w, a0); v128.store(w, a1, 16); v128.store(w, a2, 32); v128.store(w, a3, 48);
  } else if (mode == PLAIN_MOMENTUM) {
    const p = weight + ro, q = vel + ro;
    bad = i32x4.add(bad, momentumPlainVec(p, q, a0, vlr, vmu, vtiny));
    bad = i32x4.add(bad, momentumPlainVec(p + 16, q + 16, a1, vlr, vmu, vtiny));
    bad = i32x4.add(bad, momentumPlainVec(p + 32, q + 32, a2, vlr, vmu, vtiny));
    bad = i32x4.add(bad, momentumPlainVec(p + 48, q + 48, a3, vlr, vmu, vtiny));
  } else if (mode == MOMENTUM) {
    const p = weight + ro, q = vel + ro;
    bad = i32x4.add(bad, momentumVec(p, q, a0, vlr, vmu, vwd, vcg, vcv, vtiny));
    bad = i32x4.add(bad, momentumVec(p + 16, q + 16, a1, vlr, vmu, vwd, vcg, vcv, vtiny));
    bad = i32x4.add(bad, momentumVec(p + 32, q + 32, a2, vlr, vmu, vwd, vcg, vcv, vtiny));
    bad = i32x4.add(bad, momentumVec(p + 48, q + 48, a3, vlr, vmu, vwd, vcg, vcv, vtiny));
  } else if (mode == PLAIN_SGD) {
    const p = weight + ro;
    bad = i32x4.add(bad, sgdPlainVec(p, a0, vlr));
    bad = i32x4.add(bad, sgdPlainVec(p + 16, a1, vlr));
    bad = i32x4.add(bad, sgdPlainVec(p + 32, a2, vlr));
    bad = i32x4.add(bad, sgdPlainVec(p + 48, a3, vlr));
  } else {
    const p = weight + ro;
    bad = i32x4.add(bad, sgdVec(p, a0, vlr, vwd));
    bad = i32x4.add(bad, sgdVec(p + 16, a1, vlr, vwd));
    bad = i32x4.add(bad, sgdVec(p + 32, a2, vlr, vwd));
    bad = i32x4.add(bad, sgdVec(p + 48, a3, vlr, vwd));
  }
  return bad;
}

/** finish16 for a 4-column block */
// @ts-ignore: decorator
@inline
function finish4(weight: usize, vel: usize, dweight: usize, ro: usize, a: v128, mode: i32, vlr: v128, vmu: v128, vwd: v128, vcg: v128, vcv: v128, vtiny: v128): v128 {
  if (mode == KEEP_SUMS) {
    v128.store(dweight + ro, a);
    return i32x4.splat(0);
  }
  if (mode == PLAIN_MOMENTUM) return momentumPlainVec(weight + ro, vel + ro, a, vlr, vmu, vtiny);
  if (mode == MOMENTUM) return momentumVec(weight + ro, vel + ro, a, vlr, vmu, vwd, vcg, vcv, vtiny);
  if (mode == PLAIN_SGD) return sgdPlainVec(weight + ro, a, vlr);
  return sgdVec(weight + ro, a, vlr, vwd);
}

/** dbias (OC) += column sums of dout (B, OC), row after row (the order of the backward kernels) */
function columnSums(dbias: usize, dout: usize, B: i32, OC: i32): void {
  checkSpan(dbias, OC, 4);
  const rowO = <usize>OC << 2;
  for (let b = 0; b < B; b++) {
    const d = dout + <usize>b * rowO;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= OC; j += 4) {
        const jo = <usize>j << 2;
        v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo), v128.load(d + jo)));
      }
    }
    for (; j < OC; j++) {
      const jo = <usize>j << 2;
      store<f32>(dbias + jo, load<f32>(dbias + jo) + load<f32>(d + jo));
    }
  }
}
