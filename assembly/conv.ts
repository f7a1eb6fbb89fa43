// 2-D convolution kernels, NHWC (channels last, as TensorFlow.js and Keras).
//   B  = images in the batch, H x W = input height x width, C = input channels
//   OH x OW = output height x width, OC = output channels, KH x KW = kernel, S = stride (both axes)
//   same = 0: 'valid' (OH = floor((H - KH) / S) + 1, no padding)
//   same = 1: 'same'  (OH = ceil(H / S), padding max((OH - 1) S + KH - H, 0) split top/bottom with the
//                      odd one at the bottom, as TensorFlow); the same for widths
//   inp is (B, H, W, C), weight is (KH, KW, C, OC) (tfjs' HWIO), bias is (OC), out is (B, OH, OW, OC)
//   weightT is (KH, KW, OC, C) (conv2d_filter_transpose), dout is (B, OH, OW, OC)
// Pointers are byte offsets into the host-owned memory (0 = null for nullable arguments).
//
// Every output is one sum in a fixed order, whatever the tile, the build or the range:
//   out[b,oh,ow,oc]     = bias[oc] (0 if null) + sum over (kh, kw, c) ascending of in . weight
//   dinp[b,ih,iw,c]     = 0 + sum over output pixels (oh, ow) ascending, then oc ascending, of dout . weight
//   dweight[kh,kw,c,oc] = dweight + sum over (b, oh, ow) ascending of in . dout
//   dbias[oc]           = dbias + sum over (b, oh, ow) ascending of dout
// each product rounded to f32, then added (wasm has no fused multiply-add): the SIMD, scalar and
// debug builds and the TS reference are bit-identical. Taps in the padding are skipped, and so are
// products with an exact zero input (in, dout): adding a product of 0 leaves a sum unchanged unless
// the sum is -0 (only a -0 start with no other product can be) or the weight is not finite.
// Ranges: forward and dinp take rows [b0, b1) of the batch, dweight the rows [r0, r1) of its
// (KH KW C) x OC matrix in the output channels [o0, o1), dbias those channels: no sum is divided,
// so a split between threads is bit-identical to one call.
//
// Design (bench/conv-kernels.mjs): direct convolution, vectorised over output channels in the
// forward and the filter gradient (register tiles of 4 output pixels x 8 channels, the pixels taken
// in raster order across rows, and 4 input channels x 8 output channels), and over input channels in the input gradient, which scatters
// each output pixel's non-zero gradients (a list made once per pixel) into the input rows its
// taps touch.
import { checkSpan } from './data';
import { outSize, padBefore } from './window';
import { scratch, SCRATCH_WT_AT } from './scratch';
import { ACT_LINEAR as LINEAR, ACT_RELU as RELU } from '../src/core/abi';

/** the most (channel, value) entries of the input gradient's non-zero list (the 64 KiB transposed-weight scratch of matmul.ts) */
const NZ_LIST = 8192;

// ---------------------------------------------------------------------------------------------
// forward: out (B, OH, OW, OC) = act(conv(inp, weight) + bias), rows [b0, b1) of the batch;
// act = ACT_LINEAR or ACT_RELU (x > 0 ? x : 0, applied as each output is stored)

export function conv2d_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, same: i32, act: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  assert(OH > 0 && OW > 0 && S > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'conv2d_forward: bad shape or range');
  assert(act == LINEAR || act == RELU, 'conv2d_forward: act must be linear or relu');
  checkSpan(out, B * OH * OW * OC, 4);
  checkSpan(inp, B * H * W * C, 4);
  checkSpan(weight, KH * KW * C * OC, 4);
  if (bias) checkSpan(bias, OC, 4);
  const relu = act == RELU;
  const pixI = <usize>C << 2, pixO = <usize>OC << 2;
  const tapW = <usize>C * pixO; // bytes per (kh, kw) of weight
  const rowX = <usize>W * pixI;
  // interior output pixels, whose taps all lie inside the image: rows [ohLo, ohHi) x columns [owLo, owHi)
  const ohLo = min((PT + S - 1) / S, OH);
  const ohHi = max(ohLo, min(H - KH + PT >= 0 ? (H - KH + PT) / S + 1 : 0, OH));
  const owLo = min((PL + S - 1) / S, OW);
  const owHi = max(owLo, min(W - KW + PL >= 0 ? (W - KW + PL) / S + 1 : 0, OW));
  let tiled = false;
  if (ASC_FEATURE_SIMD) {
    tiled = OC >= 8 && ohHi > ohLo && owHi > owLo;
    if (tiled) {
      // the interior pixels of rows [b0, b1) in raster order (across output rows and images), four a
      // tile; with fewer than 4 input channels (the first layer: one input value feeds every output
      // channel), a pixel whose patch is all exact zeros is its bias (the test costs far less than
      // its products), and the tiles take the others
      const sparse = C < 4, nk = KW * C;
      const nC = owHi - owLo, n = (b1 - b0) * (ohHi - ohLo) * nC;
      let b = b0, oh = ohLo, ow = owLo, k = 0;
      let x0: usize = 0, x1: usize = 0, x2: usize = 0, x3: usize = 0, o0: usize = 0, o1: usize = 0, o2: usize = 0, o3: usize = 0;
      for (let q = 0; q < n; q++) {
        const x = inp + <usize>((b * H + oh * S - PT) * W + ow * S - PL) * pixI, o = out + <usize>((b * OH + oh) * OW + ow) * pixO;
        if (++ow == owHi) {
          ow = owLo;
          if (++oh == ohHi) { oh = ohLo; b++; }
        }
        if (sparse && zeroPatch(x, KH, nk, rowX)) {
          fwd_bias(o, bias, OC, relu);
          continue;
        }
        if (k == 0) { x0 = x; o0 = o; } else if (k == 1) { x1 = x; o1 = o; } else if (k == 2) { x2 = x; o2 = o; } else { x3 = x; o3 = o; }
        if (++k < 4) continue;
        k = 0;
        let j = 0;
        for (; j + 8 <= OC; j += 8) {
          const jo = <usize>j << 2;
          fwd_4x8(o0 + jo, o1 + jo, o2 + jo, o3 + jo, x0, x1 - x0, x2 - x0, x3 - x0, weight + jo, bias ? bias + jo : 0, KH, KW, C, rowX, pixO, tapW, relu);
        }
        for (; j < OC; j++) {
          const jo = <usize>j << 2, wj = weight + jo, bj = bias ? bias + jo : 0;
          fwd_1x1(o0 + jo, x0, wj, bj, KH, 0, KW, KW, C, rowX, pixO, tapW, relu);
          fwd_1x1(o1 + jo, x1, wj, bj, KH, 0, KW, KW, C, rowX, pixO, tapW, relu);
          fwd_1x1(o2 + jo, x2, wj, bj, KH, 0, KW, KW, C, rowX, pixO, tapW, relu);
          fwd_1x1(o3 + jo, x3, wj, bj, KH, 0, KW, KW, C, rowX, pixO, tapW, relu);
        }
      }
      // the last pixels short of a tile, one at a time
      if (k > 0) fwd_channels(o0, x0, weight, bias, KH, 0, KW, KW, C, OC, rowX, pixO, tapW, relu);
      if (k > 1) fwd_channels(o1, x1, weight, bias, KH, 0, KW, KW, C, OC, rowX, pixO, tapW, relu);
      if (k > 2) fwd_channels(o2, x2, weight, bias, KH, 0, KW, KW, C, OC, rowX, pixO, tapW, relu);
    }
  }
  // every pixel the tiles did not take (all of them in the scalar build), one at a time
  for (let b = b0; b < b1; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const rowInside = tiled && oh >= ohLo && oh < ohHi;
      for (let ow = 0; ow < OW; ow++) {
        if (rowInside && ow == owLo) { ow = owHi - 1; continue; }
        fwd_pixel(out, inp, weight, bias, b, oh, ow, H, W, C, OC, KH, KW, S, OH, OW, PT, PL, relu);
      }
    }
  }
}

// whether the KH rows of n values from x, rowX bytes apart, are all +0 (a -0 counts as non-zero: its products are computed)
// @ts-ignore: decorator
@inline
function zeroPatch(x: usize, KH: i32, n: i32, rowX: usize): bool {
  let bits: u32 = 0;
  for (let kh = 0; kh < KH; kh++) {
    const r = x + <usize>kh * rowX;
    for (let k = 0; k < n; k++) bits |= load<u32>(r + (<usize>k << 2));
  }
  return bits == 0;
}

// stores eight vectors (32 channels) at p, 16 bytes apart: the 1x32 tiles' accumulators
// @ts-ignore: decorator
@inline
function store8(p: usize, a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128): void {
  v128.store(p, a0);
  v128.store(p, a1, 16);
  v128.store(p, a2, 32);
  v128.store(p, a3, 48);
  v128.store(p, a4, 64);
  v128.store(p, a5, 80);
  v128.store(p, a6, 96);
  v128.store(p, a7, 112);
}

// stores a, through ReLU (pmax(0, a) = 0 < a ? a : 0, exactly a > 0 ? a : 0 with NaN and -0) when relu
// @ts-ignore: decorator
@inline
function storeAct(o: usize, a: v128, relu: bool): void {
  if (relu) a = f32x4.pmax(f32x4.splat(0), a);
  v128.store(o, a);
}

// one pixel with only zero inputs: its bias (0 without), through the activation
// @ts-ignore: decorator
@inline
function fwd_bias(o: usize, bias: usize, OC: i32, relu: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const z = f32x4.splat(0);
    for (; j + 4 <= OC; j += 4) {
      const jo = <usize>j << 2;
      storeAct(o + jo, bias ? v128.load(bias + jo) : z, relu);
    }
  }
  for (; j < OC; j++) {
    const a: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
    store<f32>(o + (<usize>j << 2), relu ? (a > 0 ? a : 0) : a);
  }
}

// output pixel (b, oh, ow), every output channel, its taps clipped to the image
function fwd_pixel(out: usize, inp: usize, weight: usize, bias: usize, b: i32, oh: i32, ow: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, OH: i32, OW: i32, PT: i32, PL: i32, relu: bool): void {
  const pixI = <usize>C << 2, pixO = <usize>OC << 2;
  const tapW = <usize>C * pixO, rowX = <usize>W * pixI;
  const ih0 = oh * S - PT, iw0 = ow * S - PL;
  const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
  const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
  // x: the pixel's tap (kh0, 0); it wraps below the row for a padded tap: only taps from kw0 are read
  const x = inp + <usize>(b * H + ih0 + kh0) * rowX + <usize>(iw0 * C << 2);
  const w = weight + <usize>(kh0 * KW) * tapW;
  fwd_channels(out + <usize>((b * OH + oh) * OW + ow) * pixO, x, w, bias, kh1 - kh0, kw0, kw1, KW, C, OC, rowX, pixO, tapW, relu);
}

// one output pixel at o, every output channel: x its input and w the weight at its first row of taps
// inside the image, nh such rows, taps [kw0, kw1) of each (an interior pixel: KH, 0, KW)
function fwd_channels(o: usize, x: usize, w: usize, bias: usize, nh: i32, kw0: i32, kw1: i32, KW: i32, C: i32, OC: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 32 <= OC; j += 32) fwd_1x32(o + (<usize>j << 2), x, w + (<usize>j << 2), bias ? bias + (<usize>j << 2) : 0, nh, kw0, kw1, KW, C, rowX, pixO, tapW, relu);
    for (; j + 8 <= OC; j += 8) fwd_1x8(o + (<usize>j << 2), x, w + (<usize>j << 2), bias ? bias + (<usize>j << 2) : 0, nh, kw0, kw1, KW, C, rowX, pixO, tapW, relu);
  } else {
    for (; j + 4 <= OC; j += 4) fwd_scalar_1x4(o + (<usize>j << 2), x, w + (<usize>j << 2), bias ? bias + (<usize>j << 2) : 0, nh, kw0, kw1, KW, C, rowX, pixO, tapW, relu);
  }
  for (; j < OC; j++) fwd_1x1(o + (<usize>j << 2), x, w + (<usize>j << 2), bias ? bias + (<usize>j << 2) : 0, nh, kw0, kw1, KW, C, rowX, pixO, tapW, relu);
}

// four output pixels x 8 output channels, every tap inside the image: x is the first pixel's tap
// (0, 0) and d1, d2, d3 the other pixels' offsets from it, w the weight at (0, 0, 0, j); rows of taps
// are rowX bytes apart in x; o0..o3 the outputs
// @ts-ignore: decorator
@inline
function fwd_4x8(o0: usize, o1: usize, o2: usize, o3: usize, x: usize, d1: usize, d2: usize, d3: usize, w: usize, bias: usize, KH: i32, KW: i32, C: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let a00 = f32x4.splat(0), a01 = a00;
  if (bias) {
    a00 = v128.load(bias);
    a01 = v128.load(bias, 16);
  }
  let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
  const nk = KW * C; // (kw, c) of one kernel row are contiguous in both x (one input row) and w
  for (let kh = 0; kh < KH; kh++) {
    let xk = x + <usize>kh * rowX;
    let wk = w + <usize>(kh * KW) * tapW;
    for (let k = 0; k < nk; k++) {
      // no zero test here: testing four pixels' inputs (four scalar loads and splats, a branch)
      // cost more than the products it skipped, 1.4-1.5x the time at 0 to 80% zeros
      const w0 = v128.load(wk), w1 = v128.load(wk, 16);
      let s = v128.load32_splat(xk);
      a00 = f32x4.add(a00, f32x4.mul(s, w0));
      a01 = f32x4.add(a01, f32x4.mul(s, w1));
      s = v128.load32_splat(xk + d1);
      a10 = f32x4.add(a10, f32x4.mul(s, w0));
      a11 = f32x4.add(a11, f32x4.mul(s, w1));
      s = v128.load32_splat(xk + d2);
      a20 = f32x4.add(a20, f32x4.mul(s, w0));
      a21 = f32x4.add(a21, f32x4.mul(s, w1));
      s = v128.load32_splat(xk + d3);
      a30 = f32x4.add(a30, f32x4.mul(s, w0));
      a31 = f32x4.add(a31, f32x4.mul(s, w1));
      xk += 4;
      wk += pixO;
    }
  }
  if (relu) {
    const z = f32x4.splat(0);
    a00 = f32x4.pmax(z, a00);
    a01 = f32x4.pmax(z, a01);
    a10 = f32x4.pmax(z, a10);
    a11 = f32x4.pmax(z, a11);
    a20 = f32x4.pmax(z, a20);
    a21 = f32x4.pmax(z, a21);
    a30 = f32x4.pmax(z, a30);
    a31 = f32x4.pmax(z, a31);
  }
  v128.store(o0, a00);
  v128.store(o0, a01, 16);
  v128.store(o1, a10);
  v128.store(o1, a11, 16);
  v128.store(o2, a20);
  v128.store(o2, a21, 16);
  v128.store(o3, a30);
  v128.store(o3, a31, 16);
}

// one output pixel x 8 output channels over the taps kw in [kw0, kw1); x is the pixel's tap (kh0, 0) (it may lie outside the row)
// @ts-ignore: decorator
@inline
function fwd_1x8(o: usize, x: usize, w: usize, bias: usize, nh: i32, kw0: i32, kw1: i32, KW: i32, C: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let a0 = f32x4.splat(0), a1 = a0;
  if (bias) {
    a0 = v128.load(bias);
    a1 = v128.load(bias, 16);
  }
  const pixI = <usize>C << 2;
  for (let kh = 0; kh < nh; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      let xk = x + <usize>kh * rowX + <usize>kw * pixI;
      let wk = w + <usize>(kh * KW + kw) * tapW;
      for (let c = 0; c < C; c++) {
        const v = load<f32>(xk);
        if (v != 0) {
          const s = f32x4.splat(v);
          a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wk)));
          a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wk, 16)));
        }
        xk += 4;
        wk += pixO;
      }
    }
  }
  storeAct(o, a0, relu);
  storeAct(o + 16, a1, relu);
}

// one output pixel x 32 output channels over the taps kw in [kw0, kw1); x is the pixel's tap (kh0, 0) (it may lie outside the row)
// @ts-ignore: decorator
@inline
function fwd_1x32(o: usize, x: usize, w: usize, bias: usize, nh: i32, kw0: i32, kw1: i32, KW: i32, C: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  if (bias) {
    a0 = v128.load(bias);
    a1 = v128.load(bias, 16);
    a2 = v128.load(bias, 32);
    a3 = v128.load(bias, 48);
    a4 = v128.load(bias, 64);
    a5 = v128.load(bias, 80);
    a6 = v128.load(bias, 96);
    a7 = v128.load(bias, 112);
  }
  const pixI = <usize>C << 2;
  for (let kh = 0; kh < nh; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      let xk = x + <usize>kh * rowX + <usize>kw * pixI;
      let wk = w + <usize>(kh * KW + kw) * tapW;
      for (let c = 0; c < C; c++) {
        const v = load<f32>(xk);
        if (v != 0) {
          const s = f32x4.splat(v);
          a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wk)));
          a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wk, 16)));
          a2 = f32x4.add(a2, f32x4.mul(s, v128.load(wk, 32)));
          a3 = f32x4.add(a3, f32x4.mul(s, v128.load(wk, 48)));
          a4 = f32x4.add(a4, f32x4.mul(s, v128.load(wk, 64)));
          a5 = f32x4.add(a5, f32x4.mul(s, v128.load(wk, 80)));
          a6 = f32x4.add(a6, f32x4.mul(s, v128.load(wk, 96)));
          a7 = f32x4.add(a7, f32x4.mul(s, v128.load(wk, 112)));
        }
        xk += 4;
        wk += pixO;
      }
    }
  }
  storeAct(o, a0, relu);
  storeAct(o + 16, a1, relu);
  storeAct(o + 32, a2, relu);
  storeAct(o + 48, a3, relu);
  storeAct(o + 64, a4, relu);
  storeAct(o + 80, a5, relu);
  storeAct(o + 96, a6, relu);
  storeAct(o + 112, a7, relu);
}

// scalar build: one output pixel x 4 output channels
// @ts-ignore: decorator
@inline
function fwd_scalar_1x4(o: usize, x: usize, w: usize, bias: usize, nh: i32, kw0: i32, kw1: i32, KW: i32, C: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  if (bias) {
    a0 = load<f32>(bias);
    a1 = load<f32>(bias, 4);
    a2 = load<f32>(bias, 8);
    a3 = load<f32>(bias, 12);
  }
  const pixI = <usize>C << 2;
  for (let kh = 0; kh < nh; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      let xk = x + <usize>kh * rowX + <usize>kw * pixI;
      let wk = w + <usize>(kh * KW + kw) * tapW;
      for (let c = 0; c < C; c++) {
        const v = load<f32>(xk);
        if (v != 0) {
          a0 += v * load<f32>(wk);
          a1 += v * load<f32>(wk, 4);
          a2 += v * load<f32>(wk, 8);
          a3 += v * load<f32>(wk, 12);
        }
        xk += 4;
        wk += pixO;
      }
    }
  }
  if (relu) {
    a0 = a0 > 0 ? a0 : 0;
    a1 = a1 > 0 ? a1 : 0;
    a2 = a2 > 0 ? a2 : 0;
    a3 = a3 > 0 ? a3 : 0;
  }
  store<f32>(o, a0);
  store<f32>(o, a1, 4);
  store<f32>(o, a2, 8);
  store<f32>(o, a3, 12);
}

// one output pixel x one output channel (the channels past the last tile)
function fwd_1x1(o: usize, x: usize, w: usize, bias: usize, nh: i32, kw0: i32, kw1: i32, KW: i32, C: i32, rowX: usize, pixO: usize, tapW: usize, relu: bool): void {
  let a: f32 = bias ? load<f32>(bias) : 0;
  const pixI = <usize>C << 2;
  for (let kh = 0; kh < nh; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      let xk = x + <usize>kh * rowX + <usize>kw * pixI;
      let wk = w + <usize>(kh * KW + kw) * tapW;
      for (let c = 0; c < C; c++) {
        const v = load<f32>(xk);
        if (v != 0) a += v * load<f32>(wk);
        xk += 4;
        wk += pixO;
      }
    }
  }
  if (relu) a = a > 0 ? a : 0;
  store<f32>(o, a);
}

// ---------------------------------------------------------------------------------------------
// weightT (KH, KW, OC, C) = weight (KH, KW, C, OC) with each tap's matrix transposed (for conv2d_backward_input)

export function conv2d_filter_transpose(weightT: usize, weight: usize, KH: i32, KW: i32, C: i32, OC: i32): void {
  const T = KH * KW;
  checkSpan(weightT, T * C * OC, 4);
  checkSpan(weight, T * C * OC, 4);
  const tap = <usize>(C * OC) << 2;
  for (let t = 0; t < T; t++) {
    const src = weight + <usize>t * tap, dst = weightT + <usize>t * tap;
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < OC; j++) store<f32>(dst + (<usize>(j * C + c) << 2), load<f32>(src + (<usize>(c * OC + j) << 2)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// input gradient: dinp (B, H, W, C) = conv^T(dout, weight), rows [b0, b1) (overwritten)

export function conv2d_backward_input(dinp: usize, dout: usize, weightT: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, same: i32, b0: i32, b1: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  assert(OH > 0 && OW > 0 && S > 0 && 0 <= b0 && b0 <= b1 && b1 <= B, 'conv2d_backward_input: bad shape or range');
  checkSpan(dinp, B * H * W * C, 4);
  checkSpan(dout, B * OH * OW * OC, 4);
  checkSpan(weightT, KH * KW * C * OC, 4);
  const pixI = <usize>C << 2, pixO = <usize>OC << 2;
  const tapW = <usize>C * pixO;
  const L = scratch() + SCRATCH_WT_AT;
  for (let b = b0; b < b1; b++) {
    memory.fill(dinp + <usize>(b * H * W) * pixI, 0, <usize>(H * W) * pixI);
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * S - PT;
      const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * S - PL;
        const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
        const d = dout + <usize>((b * OH + oh) * OW + ow) * pixO;
        for (let j0 = 0; j0 < OC; j0 += NZ_LIST) {
          // this pixel's non-zero gradients (channel byte offset in a weightT tap, value), branch-free
          const j1 = min(OC, j0 + NZ_LIST);
          let n = 0;
          for (let j = j0; j < j1; j++) {
            const v = load<f32>(d + (<usize>j << 2));
            const e = L + (<usize>n << 3);
            store<i32>(e, j * C * 4);
            store<f32>(e, v, 4);
            n += i32(v != 0);
          }
          if (n == 0) continue;
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) {
              const xp = dinp + (<usize>((b * H + ih0 + kh) * W + iw0 + kw)) * pixI;
              dinp_scatter(xp, weightT + <usize>(kh * KW + kw) * tapW, L, n, C);
            }
          }
        }
      }
    }
  }
}

// x[0..C) += sum over the n list entries (offset, v) of v * wt[offset / 4 + 0..C)
// @ts-ignore: decorator
@inline
function dinp_scatter(x: usize, wt: usize, L: usize, n: i32, C: i32): void {
  let c = 0;
  const end = L + (<usize>n << 3);
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= C; c += 16) {
      const xc = x + (<usize>c << 2), wc = wt + (<usize>c << 2);
      let a0 = v128.load(xc), a1 = v128.load(xc, 16), a2 = v128.load(xc, 32), a3 = v128.load(xc, 48);
      for (let e = L; e < end; e += 8) {
        const wr = wc + <usize>load<i32>(e);
        const s = v128.load32_splat(e + 4);
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wr)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wr, 16)));
        a2 = f32x4.add(a2, f32x4.mul(s, v128.load(wr, 32)));
        a3 = f32x4.add(a3, f32x4.mul(s, v128.load(wr, 48)));
      }
      v128.store(xc, a0);
      v128.store(xc, a1, 16);
      v128.store(xc, a2, 32);
      v128.store(xc, a3, 48);
    }
    for (; c + 4 <= C; c += 4) {
      const xc = x + (<usize>c << 2), wc = wt + (<usize>c << 2);
      let a0 = v128.load(xc);
      for (let e = L; e < end; e += 8) a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(e + 4), v128.load(wc + <usize>load<i32>(e))));
      v128.store(xc, a0);
    }
  } else {
    for (; c + 4 <= C; c += 4) {
      const xc = x + (<usize>c << 2), wc = wt + (<usize>c << 2);
      let a0 = load<f32>(xc), a1 = load<f32>(xc, 4), a2 = load<f32>(xc, 8), a3 = load<f32>(xc, 12);
      for (let e = L; e < end; e += 8) {
        const wr = wc + <usize>load<i32>(e);
        const v = load<f32>(e, 4);
        a0 += v * load<f32>(wr);
        a1 += v * load<f32>(wr, 4);
        a2 += v * load<f32>(wr, 8);
        a3 += v * load<f32>(wr, 12);
      }
      store<f32>(xc, a0);
      store<f32>(xc, a1, 4);
      store<f32>(xc, a2, 8);
      store<f32>(xc, a3, 12);
    }
  }
  for (; c < C; c++) {
    const xc = x + (<usize>c << 2), wc = wt + (<usize>c << 2);
    let a = load<f32>(xc);
    for (let e = L; e < end; e += 8) a += load<f32>(e, 4) * load<f32>(wc + <usize>load<i32>(e));
    store<f32>(xc, a);
  }
}

// ---------------------------------------------------------------------------------------------
// filter gradient: dweight (KH, KW, C, OC) += in^T . dout, dbias (OC) += sums of dout (skipped
// when null): the rows [r0, r1) of dweight (row (kh KW + kw) C + c, each OC wide) in the output
// channels [o0, o1), and dbias's channels [o0, o1)

export function conv2d_backward_filter(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, same: i32, o0: i32, o1: i32, r0: i32, r1: i32): void {
  const OH = outSize(H, KH, S, same), OW = outSize(W, KW, S, same);
  const PT = padBefore(H, KH, S, same), PL = padBefore(W, KW, S, same);
  assert(OH > 0 && OW > 0 && S > 0 && 0 <= o0 && o0 <= o1 && o1 <= OC && 0 <= r0 && r0 <= r1 && r1 <= KH * KW * C, 'conv2d_backward_filter: bad shape or range');
  checkSpan(dweight, KH * KW * C * OC, 4);
  checkSpan(dout, B * OH * OW * OC, 4);
  checkSpan(inp, B * H * W * C, 4);
  if (dbias) checkSpan(dbias, OC, 4);
  if (r1 > r0 && o1 > o0) {
    if (C >= 4 && KH * KW * C <= DW_T_CAP && mostlyZero(dout, min(B * OH * OW, 4096), OC, o0, o1)) {
      // output gradients after ReLU and max-pooling: the scatter form, whose work is the non-zeros'
      dw_scatter(dweight, dout, inp, B, H, W, C, OC, KH, KW, S, OH, OW, PT, PL, o0, o1, r0, r1);
    } else {
      dw_tiles(dweight, dout, inp, B, H, W, C, OC, KH, KW, S, OH, OW, PT, PL, o0, o1, r0, r1);
    }
  }
  if (dbias) db_sums(dbias, dout, B * OH * OW, OC, o0, o1);
}

// dbias[o0..o1) += the sums over P pixels of dout (P, OC), each in pixel order; 8 vectors of
// channels at a time, so the adds of a pixel do not wait on each other
function db_sums(dbias: usize, dout: usize, P: i32, OC: i32, o0: i32, o1: i32): void {
  const pixO = <usize>OC << 2;
  let j = o0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 32 <= o1; j += 32) {
      const b = dbias + (<usize>j << 2);
      let a0 = v128.load(b), a1 = v128.load(b, 16), a2 = v128.load(b, 32), a3 = v128.load(b, 48);
      let a4 = v128.load(b, 64), a5 = v128.load(b, 80), a6 = v128.load(b, 96), a7 = v128.load(b, 112);
      let d = dout + (<usize>j << 2);
      for (let p = 0; p < P; p++) {
        a0 = f32x4.add(a0, v128.load(d));
        a1 = f32x4.add(a1, v128.load(d, 16));
        a2 = f32x4.add(a2, v128.load(d, 32));
        a3 = f32x4.add(a3, v128.load(d, 48));
        a4 = f32x4.add(a4, v128.load(d, 64));
        a5 = f32x4.add(a5, v128.load(d, 80));
        a6 = f32x4.add(a6, v128.load(d, 96));
        a7 = f32x4.add(a7, v128.load(d, 112));
        d += pixO;
      }
      store8(b, a0, a1, a2, a3, a4, a5, a6, a7);
    }
    for (; j + 4 <= o1; j += 4) {
      const b = dbias + (<usize>j << 2);
      let a = v128.load(b);
      let d = dout + (<usize>j << 2);
      for (let p = 0; p < P; p++) {
        a = f32x4.add(a, v128.load(d));
        d += pixO;
      }
      v128.store(b, a);
    }
  }
  for (; j < o1; j++) {
    const b = dbias + (<usize>j << 2);
    let a = load<f32>(b);
    let d = dout + (<usize>j << 2);
    for (let p = 0; p < P; p++) {
      a += load<f32>(d);
      d += pixO;
    }
    store<f32>(b, a);
  }
}

/** the most floats of the scatter form's transposed filter-gradient block (the scratch below SCRATCH_WT_AT, which the sparse kernels' column lists use only within their calls) */
const DW_T_CAP = 131072;

/** whether most of dout's channels [o0, o1) in its first P pixels are exact zeros (which filter-gradient form runs: both give the same bits) */
function mostlyZero(dout: usize, P: i32, OC: i32, o0: i32, o1: i32): bool {
  let nz = 0;
  for (let p = 0; p < P; p++) {
    const d = dout + (<usize>(p * OC) << 2);
    for (let j = o0; j < o1; j++) nz += i32(load<f32>(d + (<usize>j << 2)) != 0);
  }
  return nz * 2 < P * (o1 - o0);
}

// The scatter form: for each output pixel, its non-zero gradients (a list, as the input gradient's)
// times the input row (C values) of each tap are added to a transposed block (KH, KW, nj, C) of the
// filter gradient for the channels [j0, j0 + nj), held in the scratch; the rows [r0, r1) of the block
// are read from and written back to dweight around it. An element's sum still runs over the pixels in order.
function dw_scatter(dweight: usize, dout: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, OH: i32, OW: i32, PT: i32, PL: i32, o0: i32, o1: i32, r0: i32, r1: i32): void {
  const T = KH * KW;
  const A = scratch(), L = scratch() + SCRATCH_WT_AT;
  const pixI = <usize>C << 2, pixO = <usize>OC << 2;
  const J = min(o1 - o0, min(NZ_LIST, DW_T_CAP / (T * C)));
  // the taps [t0, t1) hold the rows; tap t's input channels in the range: [max(r0 - t C, 0), min(r1 - t C, C))
  const t0 = r0 / C, t1 = (r1 + C - 1) / C;
  for (let j0 = o0; j0 < o1; j0 += J) {
    const j1 = min(o1, j0 + J), nj = j1 - j0;
    const tapA = <usize>(nj * C) << 2;
    for (let r = r0; r < r1; r++) for (let j = 0; j < nj; j++) store<f32>(A + <usize>(r / C) * tapA + (<usize>(j * C + r % C) << 2), load<f32>(dweight + (<usize>(r * OC + j0 + j) << 2)));
    for (let b = 0; b < B; b++) {
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * S - PT;
        const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
        for (let ow = 0; ow < OW; ow++) {
          const d = dout + <usize>((b * OH + oh) * OW + ow) * pixO;
          let n = 0;
          for (let j = j0; j < j1; j++) {
            const v = load<f32>(d + (<usize>j << 2));
            const e = L + (<usize>n << 3);
            store<i32>(e, (j - j0) * C * 4);
            store<f32>(e, v, 4);
            n += i32(v != 0);
          }
          if (n == 0) continue;
          const iw0 = ow * S - PL;
          const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) {
              const t = kh * KW + kw;
              if (t < t0 || t >= t1) continue;
              const c0 = max(r0 - t * C, 0), c1 = min(r1 - t * C, C);
              const x = inp + <usize>((b * H + ih0 + kh) * W + iw0 + kw) * pixI + (<usize>c0 << 2);
              dw_scatter_row(A + <usize>t * tapA + (<usize>c0 << 2), x, L, n, c1 - c0);
            }
          }
        }
      }
    }
    for (let r = r0; r < r1; r++) for (let j = 0; j < nj; j++) store<f32>(dweight + (<usize>(r * OC + j0 + j) << 2), load<f32>(A + <usize>(r / C) * tapA + (<usize>(j * C + r % C) << 2)));
  }
}

// a[off / 4 + 0..C) += v * x[0..C) for each list entry (off, v) (C: the channels of a tap taken here)
// @ts-ignore: decorator
@inline
function dw_scatter_row(a: usize, x: usize, L: usize, n: i32, C: i32): void {
  let c = 0;
  const end = L + (<usize>n << 3);
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= C; c += 16) {
      const xc = x + (<usize>c << 2), ac = a + (<usize>c << 2);
      const x0 = v128.load(xc), x1 = v128.load(xc, 16), x2 = v128.load(xc, 32), x3 = v128.load(xc, 48);
      for (let e = L; e < end; e += 8) {
        const r = ac + <usize>load<i32>(e);
        const s = v128.load32_splat(e + 4);
        v128.store(r, f32x4.add(v128.load(r), f32x4.mul(s, x0)));
        v128.store(r, f32x4.add(v128.load(r, 16), f32x4.mul(s, x1)), 16);
        v128.store(r, f32x4.add(v128.load(r, 32), f32x4.mul(s, x2)), 32);
        v128.store(r, f32x4.add(v128.load(r, 48), f32x4.mul(s, x3)), 48);
      }
    }
    for (; c + 4 <= C; c += 4) {
      const x0 = v128.load(x + (<usize>c << 2)), ac = a + (<usize>c << 2);
      for (let e = L; e < end; e += 8) {
        const r = ac + <usize>load<i32>(e);
        v128.store(r, f32x4.add(v128.load(r), f32x4.mul(v128.load32_splat(e + 4), x0)));
      }
    }
  }
  for (; c < C; c++) {
    const xv = load<f32>(x + (<usize>c << 2)), ac = a + (<usize>c << 2);
    for (let e = L; e < end; e += 8) {
      const r = ac + <usize>load<i32>(e);
      store<f32>(r, load<f32>(r) + load<f32>(e, 4) * xv);
    }
  }
}

// The tile form: register tiles of the filter gradient (4 input channels x 8 output channels, or one
// input channel x 32 or 8), each summing over an image's pixels of its tap (zero inputs skipped).
function dw_tiles(dweight: usize, dout: usize, inp: usize, B: i32, H: i32, W: i32, C: i32, OC: i32, KH: i32, KW: i32, S: i32, OH: i32, OW: i32, PT: i32, PL: i32, o0: i32, o1: i32, r0: i32, r1: i32): void {
  const pixI = <usize>C << 2, pixO = <usize>OC << 2;
  const tapW = <usize>C * pixO;
  // image by image (its dout, 4 KiB to 100 KiB here, stays in L2 while every tap and tile reads it),
  // so each element's sum still runs over (b, oh, ow) ascending
  for (let b = 0; b < B; b++) {
    const xb = inp + <usize>(b * H * W) * pixI, db = dout + <usize>(b * OH * OW) * pixO;
    for (let kh = 0; kh < KH; kh++) {
      // output rows whose tap kh is inside the input: [ohLo, ohHi)
      const ohLo = min(OH, (max(0, PT - kh) + S - 1) / S);
      const ohHi = max(ohLo, min(OH, H - 1 + PT - kh >= 0 ? (H - 1 + PT - kh) / S + 1 : 0));
      for (let kw = 0; kw < KW; kw++) {
        // this tap's input channels among the rows [r0, r1): [cLo, cHi)
        const t = kh * KW + kw, cLo = max(r0 - t * C, 0), cHi = min(r1 - t * C, C);
        if (cLo >= cHi) continue;
        const owLo = min(OW, (max(0, PL - kw) + S - 1) / S);
        const owHi = max(owLo, min(OW, W - 1 + PL - kw >= 0 ? (W - 1 + PL - kw) / S + 1 : 0));
        // the input pixel of output pixel (oh, ow) at this tap: x0 + (oh S W + ow S) pixI
        const x0 = xb + <usize>(((kh - PT) * W + kw - PL) * C << 2); // wraps below xb for padded taps: only pixels inside are read
        const dw = dweight + <usize>(kh * KW + kw) * tapW;
        let c = cLo;
        if (ASC_FEATURE_SIMD) {
          for (; c + 4 <= cHi; c += 4) {
            for (let j = o0; j + 8 <= o1; j += 8) dw_4x8(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
          }
          // single input channels (C < 4, or its last C % 4): one input value, tested for zero, feeds up to 32 channels
          for (; c < cHi; c++) {
            let j = o0;
            for (; j + 32 <= o1; j += 32) dw_1x32(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
            for (; j + 8 <= o1; j += 8) dw_1x8(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
          }
          // the channels past the last 8 (for every input channel)
          const jt = o0 + ((o1 - o0) & ~7);
          for (c = cLo; c < cHi; c++) for (let j = jt; j < o1; j++) dw_1x1(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
        } else {
          for (; c < cHi; c++) {
            let j = o0;
            for (; j + 4 <= o1; j += 4) dw_scalar_1x4(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
            for (; j < o1; j++) dw_1x1(dw + <usize>c * pixO + (<usize>j << 2), x0 + (<usize>c << 2), db + (<usize>j << 2), H, W, OW, S, ohLo, ohHi, owLo, owHi, pixI, pixO);
          }
        }
      }
    }
  }
}

// dw[0..4)[0..8) += sum over one image's pixels of this tap of x[0..4) * d[0..8); x is the tap's input
// at pixel (0, 0) plus the channel (may lie outside the image for a padded tap), d is dout at (0, 0, j)
// @ts-ignore: decorator
@inline
function dw_4x8(dw: usize, x: usize, d: usize, H: i32, W: i32, OW: i32, S: i32, ohLo: i32, ohHi: i32, owLo: i32, owHi: i32, pixI: usize, pixO: usize): void {
  let a00 = v128.load(dw), a01 = v128.load(dw, 16);
  let a10 = v128.load(dw + pixO), a11 = v128.load(dw + pixO, 16);
  let a20 = v128.load(dw + 2 * pixO), a21 = v128.load(dw + 2 * pixO, 16);
  let a30 = v128.load(dw + 3 * pixO), a31 = v128.load(dw + 3 * pixO, 16);
  const xStep = <usize>S * pixI;
  {
    for (let oh = ohLo; oh < ohHi; oh++) {
      let xp = x + <usize>(oh * S * W) * pixI + <usize>owLo * xStep;
      let dp = d + <usize>(oh * OW + owLo) * pixO;
      for (let ow = owLo; ow < owHi; ow++) {
        const xv = v128.load(xp);
        if (v128.any_true(xv)) {
          const d0 = v128.load(dp), d1 = v128.load(dp, 16);
          let s = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
          a00 = f32x4.add(a00, f32x4.mul(s, d0));
          a01 = f32x4.add(a01, f32x4.mul(s, d1));
          s = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
          a10 = f32x4.add(a10, f32x4.mul(s, d0));
          a11 = f32x4.add(a11, f32x4.mul(s, d1));
          s = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
          a20 = f32x4.add(a20, f32x4.mul(s, d0));
          a21 = f32x4.add(a21, f32x4.mul(s, d1));
          s = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
          a30 = f32x4.add(a30, f32x4.mul(s, d0));
          a31 = f32x4.add(a31, f32x4.mul(s, d1));
        }
        xp += xStep;
        dp += pixO;
      }
    }
  }
  v128.store(dw, a00);
  v128.store(dw, a01, 16);
  dw += pixO;
  v128.store(dw, a10);
  v128.store(dw, a11, 16);
  dw += pixO;
  v128.store(dw, a20);
  v128.store(dw, a21, 16);
  dw += pixO;
  v128.store(dw, a30);
  v128.store(dw, a31, 16);
}

// dw[0..8) += sum over the tap's pixels of x * d[0..8) (one input channel)
// @ts-ignore: decorator
@inline
function dw_1x8(dw: usize, x: usize, d: usize, H: i32, W: i32, OW: i32, S: i32, ohLo: i32, ohHi: i32, owLo: i32, owHi: i32, pixI: usize, pixO: usize): void {
  let a0 = v128.load(dw), a1 = v128.load(dw, 16);
  const xStep = <usize>S * pixI;
  {
    for (let oh = ohLo; oh < ohHi; oh++) {
      let xp = x + <usize>(oh * S * W) * pixI + <usize>owLo * xStep;
      let dp = d + <usize>(oh * OW + owLo) * pixO;
      for (let ow = owLo; ow < owHi; ow++) {
        const v = load<f32>(xp);
        if (v != 0) {
          const s = f32x4.splat(v);
          a0 = f32x4.add(a0, f32x4.mul(s, v128.load(dp)));
          a1 = f32x4.add(a1, f32x4.mul(s, v128.load(dp, 16)));
        }
        xp += xStep;
        dp += pixO;
      }
    }
  }
  v128.store(dw, a0);
  v128.store(dw, a1, 16);
}

// dw[0..32) += sum over the tap's pixels of x * d[0..32) (one input channel)
// @ts-ignore: decorator
@inline
function dw_1x32(dw: usize, x: usize, d: usize, H: i32, W: i32, OW: i32, S: i32, ohLo: i32, ohHi: i32, owLo: i32, owHi: i32, pixI: usize, pixO: usize): void {
  let a0 = v128.load(dw), a1 = v128.load(dw, 16), a2 = v128.load(dw, 32), a3 = v128.load(dw, 48);
  let a4 = v128.load(dw, 64), a5 = v128.load(dw, 80), a6 = v128.load(dw, 96), a7 = v128.load(dw, 112);
  const xStep = <usize>S * pixI;
  {
    for (let oh = ohLo; oh < ohHi; oh++) {
      let xp = x + <usize>(oh * S * W) * pixI + <usize>owLo * xStep;
      let dp = d + <usize>(oh * OW + owLo) * pixO;
      for (let ow = owLo; ow < owHi; ow++) {
        const v = load<f32>(xp);
        if (v != 0) {
          const s = f32x4.splat(v);
          a0 = f32x4.add(a0, f32x4.mul(s, v128.load(dp)));
          a1 = f32x4.add(a1, f32x4.mul(s, v128.load(dp, 16)));
          a2 = f32x4.add(a2, f32x4.mul(s, v128.load(dp, 32)));
          a3 = f32x4.add(a3, f32x4.mul(s, v128.load(dp, 48)));
          a4 = f32x4.add(a4, f32x4.mul(s, v128.load(dp, 64)));
          a5 = f32x4.add(a5, f32x4.mul(s, v128.load(dp, 80)));
          a6 = f32x4.add(a6, f32x4.mul(s, v128.load(dp, 96)));
          a7 = f32x4.add(a7, f32x4.mul(s, v128.load(dp, 112)));
        }
        xp += xStep;
        dp += pixO;
      }
    }
  }
  store8(dw, a0, a1, a2, a3, a4, a5, a6, a7);
}

// scalar build: dw[0..4) += sum over the tap's pixels of x * d[0..4) (one input channel)
// @ts-ignore: decorator
@inline
function dw_scalar_1x4(dw: usize, x: usize, d: usize, H: i32, W: i32, OW: i32, S: i32, ohLo: i32, ohHi: i32, owLo: i32, owHi: i32, pixI: usize, pixO: usize): void {
  let a0 = load<f32>(dw), a1 = load<f32>(dw, 4), a2 = load<f32>(dw, 8), a3 = load<f32>(dw, 12);
  const xStep = <usize>S * pixI;
  {
    for (let oh = ohLo; oh < ohHi; oh++) {
      let xp = x + <usize>(oh * S * W) * pixI + <usize>owLo * xStep;
      let dp = d + <usize>(oh * OW + owLo) * pixO;
      for (let ow = owLo; ow < owHi; ow++) {
        const v = load<f32>(xp);
        if (v != 0) {
          a0 += v * load<f32>(dp);
          a1 += v * load<f32>(dp, 4);
          a2 += v * load<f32>(dp, 8);
          a3 += v * load<f32>(dp, 12);
        }
        xp += xStep;
        dp += pixO;
      }
    }
  }
  store<f32>(dw, a0);
  store<f32>(dw, a1, 4);
  store<f32>(dw, a2, 8);
  store<f32>(dw, a3, 12);
}

// dw += sum over the tap's pixels of x * d (one input channel, one output channel)
function dw_1x1(dw: usize, x: usize, d: usize, H: i32, W: i32, OW: i32, S: i32, ohLo: i32, ohHi: i32, owLo: i32, owHi: i32, pixI: usize, pixO: usize): void {
  let a = load<f32>(dw);
  const xStep = <usize>S * pixI;
  {
    for (let oh = ohLo; oh < ohHi; oh++) {
      let xp = x + <usize>(oh * S * W) * pixI + <usize>owLo * xStep;
      let dp = d + <usize>(oh * OW + owLo) * pixO;
      for (let ow = owLo; ow < owHi; ow++) {
        const v = load<f32>(xp);
        if (v != 0) a += v * load<f32>(dp);
        xp += xStep;
        dp += pixO;
      }
    }
  }
  store<f32>(dw, a);
}
