// Fully connected layer kernels, llm.c style.
//   B  = rows in the batch, C = input features, OC = output features
//   inp is (B, C), weight is (C, OC), bias is (OC), out is (B, OC)   (all row-major f32)
// Pointers are byte offsets into the host-owned memory (0 = null for nullable arguments).
//
// SIMD build: register-tiled f32x4 micro-kernels, named by the tile they compute (rows x columns):
//   forward      __4x8 / __1x8 / __4x4 / __1x4 + scalar column tail      (bias fused into the init)
//   dweight      __4x8 / __1x8 / __4x4 / __1x4 over (c, j), reducing over b (no transpose)
//   dinp         __4x2 dot products along OC (b x c tile), + __1x1        (no transpose)
// Scalar build (ASC_FEATURE_SIMD false): the same loops with a 2x4 scalar tile.
import { checkSpan } from './data';
import { scratch, SCRATCH_WT_AT, SCRATCH_PANEL_AT } from './scratch';

/** the most rows of weight per forward block (C is cut into equal blocks of at most KC): a block's x 8 weight panel stays in L1 */
const KC = 256;
/** batches of at least this many rows pack each weight panel before their row tiles use it */
const PACK_MIN_B = 8;
/** the weight gradient packs dout panels of up to this many rows (the scratch panel holds 256 x 8 floats) */
const DW_PACK_MAX_B = 256;

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** sum_k p[k] * q[k] for k < n (both contiguous) */
// @ts-ignore: decorator
@inline
function dot(p: usize, q: usize, n: i32): f32 {
  let k = 0;
  let sum: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    for (; k + 8 <= n; k += 8) {
      const o = <usize>k << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p + o), v128.load(q + o)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p + o, 16), v128.load(q + o, 16)));
    }
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p + o), v128.load(q + o)));
    }
    sum = hsum(f32x4.add(a0, a1));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    sum += load<f32>(p + o) * load<f32>(q + o);
  }
  return sum;
}

/** copies `rows` rows of 8 floats, `stride` bytes apart from src, into the scratch panel (32 bytes a row); returns the panel */
// @ts-ignore: decorator
@inline
function packPanel8(src: usize, rows: i32, stride: usize): usize {
  const P = scratch() + SCRATCH_PANEL_AT;
  for (let i = 0; i < rows; i++) {
    const s = src + <usize>i * stride, d = P + (<usize>i << 5);
    v128.store(d, v128.load(s));
    v128.store(d, v128.load(s, 16), 16);
  }
  return P;
}

/** the first r (1..3) lanes from p, the others 0: a column tail kept in SIMD without reading past it */
// @ts-ignore: decorator
@inline
function loadR(p: usize, r: i32): v128 {
  if (r == 1) return v128.load32_zero(p);
  const v = v128.load64_zero(p);
  return r == 2 ? v : v128.load32_lane(p + 8, v, 2);
}

/** store the first r (1..3) lanes of v at p */
// @ts-ignore: decorator
@inline
function storeR(p: usize, v: v128, r: i32): void {
  if (r == 1) {
    v128.store32_lane(p, v, 0);
    return;
  }
  v128.store64_lane(p, v, 0);
  if (r == 3) v128.store32_lane(p + 8, v, 2);
}

// ---------------------------------------------------------------------------------------------
// forward: out (B, OC) = inp (B, C) . weight (C, OC) + bias (OC)

export function matmul_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32, OC: i32): void {
  checkSpan(out, B * OC, 4);
  checkSpan(inp, B * C, 4);
  checkSpan(weight, C * OC, 4);
  if (bias) checkSpan(bias, OC, 4);
  const rowI = <usize>C << 2; // bytes per inp row
  const rowO = <usize>OC << 2; // bytes per weight row and per out row
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    // column panels of 8 outer, so the weight panel stays in L1 while b runs over the batch; C is cut
    // into blocks of KC rows of weight (KC x 32 bytes), partial sums carried in out between blocks
    const OC8 = OC & ~7;
    // blocks of equal size (784 = 4 x 196, not 3 x 256 + 16, whose last block pays a tile's loads
    // and stores for 16 products); the k order of each sum is unchanged, so are the results
    const nk = (C + KC - 1) / KC;
    const KB = (C + nk - 1) / nk;
    for (let k0 = 0; k0 < C; k0 += KB) {
      const kc = min(KB, C - k0);
      const xk = inp + (<usize>k0 << 2);
      const wk = weight + <usize>k0 * rowO;
      const first = k0 == 0;
      for (j = 0; j < OC8; j += 8) {
        const jo = <usize>j << 2;
        const init: usize = first ? (bias ? bias + jo : 0) : out + jo;
        const initStep: usize = first ? 0 : rowO;
        // the kc x 8 weight panel, packed contiguous when several row tiles use it: its rows are rowO
        // bytes apart in weight, so a wide layer's panel spans a page per few rows (784 x 800: 150
        // pages, more than the L1 TLB holds); packed it is kc x 32 bytes
        let wp = wk + jo, wStep = rowO;
        if (B >= PACK_MIN_B) {
          wp = packPanel8(wp, kc, rowO);
          wStep = 32;
        }
        let b = 0;
        for (; b + 4 <= B; b += 4) fwd_4x8(out + <usize>b * rowO + jo, xk + <usize>b * rowI, wp, init + <usize>b * initStep, initStep, kc, rowI, rowO, wStep);
        for (; b < B; b++) fwd_1x8(out + <usize>b * rowO + jo, xk + <usize>b * rowI, wp, init + <usize>b * initStep, kc, wStep);
      }
    }
    if (j + 4 <= OC) {
      const jo = <usize>j << 2;
      let b = 0;
      for (; b + 4 <= B; b += 4) fwd_4x4(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowI, rowO);
      for (; b < B; b++) fwd_1x4(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowO);
      j += 4;
    }
    if (j < OC) {
      // the last OC % 4 columns (e.g. 2 of a 10-class output layer) in partial vectors, same sums
      const jo = <usize>j << 2, r = OC - j;
      let b = 0;
      for (; b + 4 <= B; b += 4) fwd_4xR(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowI, rowO, r);
      for (; b < B; b++) fwd_1xR(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowO, r);
      j = OC;
    }
  } else {
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      let b = 0;
      for (; b + 2 <= B; b += 2) fwd_scalar_2x4(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowI, rowO);
      if (b < B) fwd_scalar_1x4(out + <usize>b * rowO + jo, inp + <usize>b * rowI, weight + jo, bias ? bias + jo : 0, C, rowO);
    }
  }
  // remaining OC % 4 columns: one output at a time, strided down the weight column
  for (; j < OC; j++) {
    const jo = <usize>j << 2;
    const b0: f32 = bias ? load<f32>(bias + jo) : 0;
    for (let b = 0; b < B; b++) {
      let sum = b0;
      let x = inp + <usize>b * rowI;
      let w = weight + jo;
      for (let c = 0; c < C; c++) {
        sum += load<f32>(x) * load<f32>(w);
        x += 4;
        w += rowO;
      }
      store<f32>(out + <usize>b * rowO + jo, sum);
    }
  }
}

// out[0..4)[0..8) = init + x[0..4)[0..kc) . w[0..kc)[0..8); x rows are rowI bytes apart, w and out
// rows rowO; init is the bias (initStep 0), the previous partial sums (initStep rowO) or 0 (null)
// @ts-ignore: decorator
@inline
function fwd_4x8(o: usize, x: usize, w: usize, init: usize, initStep: usize, kc: i32, rowI: usize, rowO: usize, wStep: usize): void {
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  if (init) {
    a00 = v128.load(init);
    a01 = v128.load(init, 16);
    let i = init + initStep;
    a10 = v128.load(i);
    a11 = v128.load(i, 16);
    i += initStep;
    a20 = v128.load(i);
    a21 = v128.load(i, 16);
    i += initStep;
    a30 = v128.load(i);
    a31 = v128.load(i, 16);
  }
  // two k per iteration (the same sums in the same order): a body this size is not unrolled again
  // by V8, whose own unrolling of the one-k loop rotated the accumulators through registers
  const end = x + (<usize>kc << 2);
  let xk = x;
  for (; xk + 8 <= end; xk += 8) {
    let w0 = v128.load(w);
    let w1 = v128.load(w, 16);
    let s = v128.load32_splat(xk);
    a00 = f32x4.add(a00, f32x4.mul(s, w0));
    a01 = f32x4.add(a01, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + rowI);
    a10 = f32x4.add(a10, f32x4.mul(s, w0));
    a11 = f32x4.add(a11, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 2 * rowI);
    a20 = f32x4.add(a20, f32x4.mul(s, w0));
    a21 = f32x4.add(a21, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 3 * rowI);
    a30 = f32x4.add(a30, f32x4.mul(s, w0));
    a31 = f32x4.add(a31, f32x4.mul(s, w1));
    w += wStep;
    w0 = v128.load(w);
    w1 = v128.load(w, 16);
    s = v128.load32_splat(xk, 4);
    a00 = f32x4.add(a00, f32x4.mul(s, w0));
    a01 = f32x4.add(a01, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + rowI, 4);
    a10 = f32x4.add(a10, f32x4.mul(s, w0));
    a11 = f32x4.add(a11, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 2 * rowI, 4);
    a20 = f32x4.add(a20, f32x4.mul(s, w0));
    a21 = f32x4.add(a21, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 3 * rowI, 4);
    a30 = f32x4.add(a30, f32x4.mul(s, w0));
    a31 = f32x4.add(a31, f32x4.mul(s, w1));
    w += wStep;
  }
  if (xk < end) {
    const w0 = v128.load(w);
    const w1 = v128.load(w, 16);
    let s = v128.load32_splat(xk);
    a00 = f32x4.add(a00, f32x4.mul(s, w0));
    a01 = f32x4.add(a01, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + rowI);
    a10 = f32x4.add(a10, f32x4.mul(s, w0));
    a11 = f32x4.add(a11, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 2 * rowI);
    a20 = f32x4.add(a20, f32x4.mul(s, w0));
    a21 = f32x4.add(a21, f32x4.mul(s, w1));
    s = v128.load32_splat(xk + 3 * rowI);
    a30 = f32x4.add(a30, f32x4.mul(s, w0));
    a31 = f32x4.add(a31, f32x4.mul(s, w1));
  }
  v128.store(o, a00);
  v128.store(o, a01, 16);
  o += rowO;
  v128.store(o, a10);
  v128.store(o, a11, 16);
  o += rowO;
  v128.store(o, a20);
  v128.store(o, a21, 16);
  o += rowO;
  v128.store(o, a30);
  v128.store(o, a31, 16);
}

// @ts-ignore: decorator
@inline
function fwd_1x8(o: usize, x: usize, w: usize, init: usize, kc: i32, wStep: usize): void {
  let a0 = f32x4.splat(0), a1 = a0;
  if (init) {
    a0 = v128.load(init);
    a1 = v128.load(init, 16);
  }
  const end = <usize>kc << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const s = v128.load32_splat(x + k);
    a0 = f32x4.add(a0, f32x4.mul(s, v128.load(w)));
    a1 = f32x4.add(a1, f32x4.mul(s, v128.load(w, 16)));
    w += wStep;
  }
  v128.store(o, a0);
  v128.store(o, a1, 16);
}

// out[0..r) = bias[0..r) + x . w[:][0..r) for a column tail of r = 1..3 (lanes r..3 stay 0)
// @ts-ignore: decorator
@inline
function fwd_1xR(o: usize, x: usize, w: usize, bias: usize, C: i32, rowO: usize, r: i32): void {
  let a = bias ? loadR(bias, r) : f32x4.splat(0);
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    a = f32x4.add(a, f32x4.mul(v128.load32_splat(x + k), loadR(w, r)));
    w += rowO;
  }
  storeR(o, a, r);
}

// out[0..4)[0..r) for four rows of a column tail: four accumulator chains (one row's tail alone is
// a single chain of dependent adds, latency-bound: 800 -> 10 at B = 128 took 1.6x as long)
// @ts-ignore: decorator
@inline
function fwd_4xR(o: usize, x: usize, w: usize, bias: usize, C: i32, rowI: usize, rowO: usize, r: i32): void {
  let a0 = bias ? loadR(bias, r) : f32x4.splat(0);
  let a1 = a0, a2 = a0, a3 = a0;
  const x1 = x + rowI, x2 = x1 + rowI, x3 = x2 + rowI;
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const w0 = loadR(w, r);
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x + k), w0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x1 + k), w0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x2 + k), w0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x3 + k), w0));
    w += rowO;
  }
  storeR(o, a0, r);
  storeR(o + rowO, a1, r);
  storeR(o + 2 * rowO, a2, r);
  storeR(o + 3 * rowO, a3, r);
}

// @ts-ignore: decorator
@inline
function fwd_4x4(o: usize, x: usize, w: usize, bias: usize, C: i32, rowI: usize, rowO: usize): void {
  let a0 = bias ? v128.load(bias) : f32x4.splat(0);
  let a1 = a0, a2 = a0, a3 = a0;
  const x1 = x + rowI, x2 = x1 + rowI, x3 = x2 + rowI;
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const w0 = v128.load(w);
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x + k), w0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x1 + k), w0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x2 + k), w0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x3 + k), w0));
    w += rowO;
  }
  v128.store(o, a0);
  v128.store(o + rowO, a1);
  v128.store(o + 2 * rowO, a2);
  v128.store(o + 3 * rowO, a3);
}

// @ts-ignore: decorator
@inline
function fwd_1x4(o: usize, x: usize, w: usize, bias: usize, C: i32, rowO: usize): void {
  let a0 = bias ? v128.load(bias) : f32x4.splat(0);
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x + k), v128.load(w)));
    w += rowO;
  }
  v128.store(o, a0);
}

// scalar build: 2 rows x 4 columns of accumulators
// @ts-ignore: decorator
@inline
function fwd_scalar_2x4(o: usize, x: usize, w: usize, bias: usize, C: i32, rowI: usize, rowO: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  if (bias) {
    a0 = load<f32>(bias);
    a1 = load<f32>(bias, 4);
    a2 = load<f32>(bias, 8);
    a3 = load<f32>(bias, 12);
  }
  let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
  const x1 = x + rowI;
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const w0 = load<f32>(w), w1 = load<f32>(w, 4), w2 = load<f32>(w, 8), w3 = load<f32>(w, 12);
    const s = load<f32>(x + k), t = load<f32>(x1 + k);
    a0 += s * w0; a1 += s * w1; a2 += s * w2; a3 += s * w3;
    b0 += t * w0; b1 += t * w1; b2 += t * w2; b3 += t * w3;
    w += rowO;
  }
  store<f32>(o, a0); store<f32>(o, a1, 4); store<f32>(o, a2, 8); store<f32>(o, a3, 12);
  o += rowO;
  store<f32>(o, b0); store<f32>(o, b1, 4); store<f32>(o, b2, 8); store<f32>(o, b3, 12);
}

// @ts-ignore: decorator
@inline
function fwd_scalar_1x4(o: usize, x: usize, w: usize, bias: usize, C: i32, rowO: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  if (bias) {
    a0 = load<f32>(bias);
    a1 = load<f32>(bias, 4);
    a2 = load<f32>(bias, 8);
    a3 = load<f32>(bias, 12);
  }
  const end = <usize>C << 2;
  for (let k: usize = 0; k < end; k += 4) {
    const s = load<f32>(x + k);
    a0 += s * load<f32>(w); a1 += s * load<f32>(w, 4); a2 += s * load<f32>(w, 8); a3 += s * load<f32>(w, 12);
    w += rowO;
  }
  store<f32>(o, a0); store<f32>(o, a1, 4); store<f32>(o, a2, 8); store<f32>(o, a3, 12);
}

// ---------------------------------------------------------------------------------------------
// backward:
//   dout is (B, OC), inp is (B, C), weight is (C, OC)
//   dinp (B, C)     = dout . weight^T     (overwritten; skipped when dinp == 0)
//   dweight (C, OC) += inp^T . dout       (accumulated)
//   dbias (OC)      += sum_b dout[b]      (accumulated; skipped when dbias == 0)

export function matmul_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, B: i32, C: i32, OC: i32): void {
  matmul_backward_part(dinp, dweight, dbias, dout, inp, weight, B, C, OC, 0, B, 0, C);
}

/**
 * A part of matmul_backward, for threads (src/backends/wasm/threads.ts): the rows [b0, b1) of dinp
 * (if dinp), the rows [c0, c1) of dweight and, if dbias, all of dbias. Every element is the same sum
 * in the same order as in one matmul_backward call (a dinp element is a dot product along OC, a
 * dweight element a sum over the batch), so parts that cover the ranges leave exactly what one call
 * leaves.
 */
export function matmul_backward_part(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, B: i32, C: i32, OC: i32, b0: i32, b1: i32, c0: i32, c1: i32): void {
  checkSpan(dout, B * OC, 4);
  checkSpan(inp, B * C, 4);
  checkSpan(weight, C * OC, 4);
  checkSpan(dweight, C * OC, 4);
  if (dinp) checkSpan(dinp, B * C, 4);
  if (dbias) checkSpan(dbias, OC, 4);
  assert(b0 >= 0 && b0 <= b1 && b1 <= B && c0 >= 0 && c0 <= c1 && c1 <= C, 'part outside the product');
  const rowI = <usize>C << 2, rowO = <usize>OC << 2;
  if (dinp && b1 > b0) backward_dinp(dinp + <usize>b0 * rowI, dout + <usize>b0 * rowO, weight, b1 - b0, C, OC);
  if (c1 > c0) backward_dweight(dweight + <usize>c0 * rowO, dout, inp + (<usize>c0 << 2), B, c1 - c0, OC, rowI);
  if (dbias) backward_dbias(dbias, dout, B, OC);
}

/** weight^T for narrow layers' dinp lives in the kernel scratch (assembly/scratch.ts): kernels never allocate */
const WT_CAP = 16384; // floats, the scratch region's size for it
/** below this many outputs, dinp is a product with weight^T rather than dot products along OC */
const DINP_NARROW_OC = 32;

// dinp[b][c] = sum_j dout[b][j] * weight[c][j]: dot products of two contiguous rows of length OC
function backward_dinp(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, OC: i32): void {
  const rowI = <usize>C << 2;
  const rowO = <usize>OC << 2;
  let c = 0;
  if (ASC_FEATURE_SIMD && OC < DINP_NARROW_OC && C * OC <= WT_CAP) {
    // narrow layer (e.g. 10 classes): short dots spend more on horizontal sums than on products, so
    // transpose weight (C x OC, small) once and run the forward kernel: dinp = dout . weight^T
    const WT = scratch() + SCRATCH_WT_AT;
    for (let j = 0; j < OC; j++) {
      for (let cc = 0; cc < C; cc++) store<f32>(WT + ((<usize>j * <usize>C + <usize>cc) << 2), load<f32>(weight + ((<usize>cc * <usize>OC + <usize>j) << 2)));
    }
    matmul_forward(dinp, dout, WT, 0, B, OC, C);
    return;
  }
  if (ASC_FEATURE_SIMD) {
    // 2 weight rows (c, c+1) stay in L1 while 4 dout rows at a time stream past them
    for (; c + 2 <= C; c += 2) {
      const w0 = weight + <usize>c * rowO;
      const co = <usize>c << 2;
      let b = 0;
      for (; b + 4 <= B; b += 4) dinp_4x2(dinp + <usize>b * rowI + co, dout + <usize>b * rowO, w0, OC, rowI, rowO);
      for (; b < B; b++) {
        const d = dout + <usize>b * rowO;
        const o = dinp + <usize>b * rowI + co;
        store<f32>(o, dot(d, w0, OC));
        store<f32>(o, dot(d, w0 + rowO, OC), 4);
      }
    }
  } else {
    for (; c + 2 <= C; c += 2) {
      const w0 = weight + <usize>c * rowO;
      const co = <usize>c << 2;
      for (let b = 0; b < B; b++) {
        const d = dout + <usize>b * rowO;
        const o = dinp + <usize>b * rowI + co;
        store<f32>(o, dot(d, w0, OC));
        store<f32>(o, dot(d, w0 + rowO, OC), 4);
      }
    }
  }
  for (; c < C; c++) {
    const w0 = weight + <usize>c * rowO;
    for (let b = 0; b < B; b++) store<f32>(dinp + <usize>b * rowI + (<usize>c << 2), dot(dout + <usize>b * rowO, w0, OC));
  }
}

// dinp[b..b+4)[c..c+2): 8 f32x4 accumulators along OC, reduced horizontally at the end
// @ts-ignore: decorator
@inline
function dinp_4x2(o: usize, d: usize, w0: usize, OC: i32, rowI: usize, rowO: usize): void {
  const w1 = w0 + rowO;
  const d1 = d + rowO, d2 = d1 + rowO, d3 = d2 + rowO;
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const end4 = <usize>(OC & ~3) << 2;
  let k: usize = 0;
  for (; k < end4; k += 16) {
    const v0 = v128.load(w0 + k);
    const v1 = v128.load(w1 + k);
    let u = v128.load(d + k);
    a00 = f32x4.add(a00, f32x4.mul(u, v0));
    a01 = f32x4.add(a01, f32x4.mul(u, v1));
    u = v128.load(d1 + k);
    a10 = f32x4.add(a10, f32x4.mul(u, v0));
    a11 = f32x4.add(a11, f32x4.mul(u, v1));
    u = v128.load(d2 + k);
    a20 = f32x4.add(a20, f32x4.mul(u, v0));
    a21 = f32x4.add(a21, f32x4.mul(u, v1));
    u = v128.load(d3 + k);
    a30 = f32x4.add(a30, f32x4.mul(u, v0));
    a31 = f32x4.add(a31, f32x4.mul(u, v1));
  }
  let s00 = hsum(a00), s01 = hsum(a01), s10 = hsum(a10), s11 = hsum(a11);
  let s20 = hsum(a20), s21 = hsum(a21), s30 = hsum(a30), s31 = hsum(a31);
  const end = <usize>OC << 2;
  for (; k < end; k += 4) {
    const v0 = load<f32>(w0 + k), v1 = load<f32>(w1 + k);
    let u = load<f32>(d + k);
    s00 += u * v0; s01 += u * v1;
    u = load<f32>(d1 + k);
    s10 += u * v0; s11 += u * v1;
    u = load<f32>(d2 + k);
    s20 += u * v0; s21 += u * v1;
    u = load<f32>(d3 + k);
    s30 += u * v0; s31 += u * v1;
  }
  store<f32>(o, s00); store<f32>(o, s01, 4);
  o += rowI;
  store<f32>(o, s10); store<f32>(o, s11, 4);
  o += rowI;
  store<f32>(o, s20); store<f32>(o, s21, 4);
  o += rowI;
  store<f32>(o, s30); store<f32>(o, s31, 4);
}

// dweight[c][j] += sum_b inp[b][c] * dout[b][j]: tiles of 4 c x 8 j, reducing over the batch
// (inp's rows are rowI bytes apart: C columns of a wider input when a thread takes rows of dweight)
function backward_dweight(dweight: usize, dout: usize, inp: usize, B: i32, C: i32, OC: i32, rowI: usize): void {
  const rowO = <usize>OC << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 8 <= OC; j += 8) {
      const jo = <usize>j << 2;
      let c = 0;
      // the B x 8 panel of dout, packed contiguous when it fits the scratch (as in matmul_forward):
      // every tile of the column block walks it, and in place its rows are rowO bytes apart
      let dp = dout + jo, dStep = rowO;
      if (B <= DW_PACK_MAX_B && C >= 8) {
        dp = packPanel8(dp, B, rowO);
        dStep = 32;
      }
      for (; c + 4 <= C; c += 4) dw_4x8(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dp, B, rowI, rowO, dStep);
      for (; c < C; c++) dw_1x8(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dp, B, rowI, dStep);
    }
    if (j + 4 <= OC) {
      const jo = <usize>j << 2;
      let c = 0;
      for (; c + 4 <= C; c += 4) dw_4x4(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dout + jo, B, rowI, rowO);
      for (; c < C; c++) dw_1x4(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dout + jo, B, rowI, rowO);
      j += 4;
    }
    if (j < OC) {
      // the last OC % 4 columns in partial vectors, 4 rows of dweight at a time, same sums
      const jo = <usize>j << 2, r = OC - j;
      let c = 0;
      for (; c + 4 <= C; c += 4) dw_4xR(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dout + jo, B, rowI, rowO, r);
      for (; c < C; c++) {
        let a = f32x4.splat(0);
        let x = inp + (<usize>c << 2), d = dout + jo;
        for (let b = 0; b < B; b++) {
          a = f32x4.add(a, f32x4.mul(v128.load32_splat(x), loadR(d, r)));
          x += rowI;
          d += rowO;
        }
        const p = dweight + <usize>c * rowO + jo;
        storeR(p, f32x4.add(loadR(p, r), a), r);
      }
      j = OC;
    }
  } else {
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      let c = 0;
      for (; c + 2 <= C; c += 2) dw_scalar_2x4(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dout + jo, B, rowI, rowO);
      if (c < C) dw_scalar_1x4(dweight + <usize>c * rowO + jo, inp + (<usize>c << 2), dout + jo, B, rowI, rowO);
    }
  }
  // remaining OC % 4 columns
  for (; j < OC; j++) {
    const jo = <usize>j << 2;
    for (let c = 0; c < C; c++) {
      let sum: f32 = 0;
      let x = inp + (<usize>c << 2);
      let d = dout + jo;
      for (let b = 0; b < B; b++) {
        sum += load<f32>(x) * load<f32>(d);
        x += rowI;
        d += rowO;
      }
      const p = dweight + <usize>c * rowO + jo;
      store<f32>(p, load<f32>(p) + sum);
    }
  }
}

// dw[0..4)[0..r) += x[:][0..4)^T . d[:][0..r) for a column tail of r = 1..3
// @ts-ignore: decorator
@inline
function dw_4xR(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize, r: i32): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < B; b++) {
    const d0 = loadR(d, r);
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x), d0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x, 4), d0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x, 8), d0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x, 12), d0));
    x += rowI;
    d += rowO;
  }
  storeR(dw, f32x4.add(loadR(dw, r), a0), r);
  dw += rowO;
  storeR(dw, f32x4.add(loadR(dw, r), a1), r);
  dw += rowO;
  storeR(dw, f32x4.add(loadR(dw, r), a2), r);
  dw += rowO;
  storeR(dw, f32x4.add(loadR(dw, r), a3), r);
}

// dw[0..4)[0..8) += x[:][0..4)^T . d[:][0..8); x steps by rowI per b, d by rowO per b
// @ts-ignore: decorator
@inline
function dw_4x8(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize, dStep: usize): void {
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (let b = 0; b < B; b++) {
    const d0 = v128.load(d);
    const d1 = v128.load(d, 16);
    let s = v128.load32_splat(x);
    a00 = f32x4.add(a00, f32x4.mul(s, d0));
    a01 = f32x4.add(a01, f32x4.mul(s, d1));
    s = v128.load32_splat(x, 4);
    a10 = f32x4.add(a10, f32x4.mul(s, d0));
    a11 = f32x4.add(a11, f32x4.mul(s, d1));
    s = v128.load32_splat(x, 8);
    a20 = f32x4.add(a20, f32x4.mul(s, d0));
    a21 = f32x4.add(a21, f32x4.mul(s, d1));
    s = v128.load32_splat(x, 12);
    a30 = f32x4.add(a30, f32x4.mul(s, d0));
    a31 = f32x4.add(a31, f32x4.mul(s, d1));
    x += rowI;
    d += dStep;
  }
  v128.store(dw, f32x4.add(v128.load(dw), a00));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a01), 16);
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a10));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a11), 16);
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a20));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a21), 16);
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a30));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a31), 16);
}

// @ts-ignore: decorator
@inline
function dw_1x8(dw: usize, x: usize, d: usize, B: i32, rowI: usize, dStep: usize): void {
  let a0 = f32x4.splat(0), a1 = a0;
  for (let b = 0; b < B; b++) {
    const s = v128.load32_splat(x);
    a0 = f32x4.add(a0, f32x4.mul(s, v128.load(d)));
    a1 = f32x4.add(a1, f32x4.mul(s, v128.load(d, 16)));
    x += rowI;
    d += dStep;
  }
  v128.store(dw, f32x4.add(v128.load(dw), a0));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a1), 16);
}

// @ts-ignore: decorator
@inline
function dw_4x4(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < B; b++) {
    const d0 = v128.load(d);
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x), d0));
    a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x, 4), d0));
    a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x, 8), d0));
    a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x, 12), d0));
    x += rowI;
    d += rowO;
  }
  v128.store(dw, f32x4.add(v128.load(dw), a0));
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a1));
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a2));
  dw += rowO;
  v128.store(dw, f32x4.add(v128.load(dw), a3));
}

// @ts-ignore: decorator
@inline
function dw_1x4(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize): void {
  let a0 = f32x4.splat(0);
  for (let b = 0; b < B; b++) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x), v128.load(d)));
    x += rowI;
    d += rowO;
  }
  v128.store(dw, f32x4.add(v128.load(dw), a0));
}

// scalar build: 2 rows of dweight (c, c+1) x 4 columns
// @ts-ignore: decorator
@inline
function dw_scalar_2x4(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  let b0: f32 = 0, b1: f32 = 0, b2: f32 = 0, b3: f32 = 0;
  for (let b = 0; b < B; b++) {
    const d0 = load<f32>(d), d1 = load<f32>(d, 4), d2 = load<f32>(d, 8), d3 = load<f32>(d, 12);
    const s = load<f32>(x), t = load<f32>(x, 4);
    a0 += s * d0; a1 += s * d1; a2 += s * d2; a3 += s * d3;
    b0 += t * d0; b1 += t * d1; b2 += t * d2; b3 += t * d3;
    x += rowI;
    d += rowO;
  }
  store<f32>(dw, load<f32>(dw) + a0);
  store<f32>(dw, load<f32>(dw, 4) + a1, 4);
  store<f32>(dw, load<f32>(dw, 8) + a2, 8);
  store<f32>(dw, load<f32>(dw, 12) + a3, 12);
  dw += rowO;
  store<f32>(dw, load<f32>(dw) + b0);
  store<f32>(dw, load<f32>(dw, 4) + b1, 4);
  store<f32>(dw, load<f32>(dw, 8) + b2, 8);
  store<f32>(dw, load<f32>(dw, 12) + b3, 12);
}

// @ts-ignore: decorator
@inline
function dw_scalar_1x4(dw: usize, x: usize, d: usize, B: i32, rowI: usize, rowO: usize): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  for (let b = 0; b < B; b++) {
    const s = load<f32>(x);
    a0 += s * load<f32>(d); a1 += s * load<f32>(d, 4); a2 += s * load<f32>(d, 8); a3 += s * load<f32>(d, 12);
    x += rowI;
    d += rowO;
  }
  store<f32>(dw, load<f32>(dw) + a0);
  store<f32>(dw, load<f32>(dw, 4) + a1, 4);
  store<f32>(dw, load<f32>(dw, 8) + a2, 8);
  store<f32>(dw, load<f32>(dw, 12) + a3, 12);
}

// dbias[j] += sum_b dout[b][j]
function backward_dbias(dbias: usize, dout: usize, B: i32, OC: i32): void {
  const rowO = <usize>OC << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      let a = f32x4.splat(0);
      let d = dout + jo;
      for (let b = 0; b < B; b++) {
        a = f32x4.add(a, v128.load(d));
        d += rowO;
      }
      v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo), a));
    }
  }
  for (; j < OC; j++) {
    const jo = <usize>j << 2;
    let sum: f32 = 0;
    let d = dout + jo;
    for (let b = 0; b < B; b++) {
      sum += load<f32>(d);
      d += rowO;
    }
    store<f32>(dbias + jo, load<f32>(dbias + jo) + sum);
  }
}
