// Elementwise activations. inp, out, dout, dinp are (N) f32; act is a code shared with the host
// (src/core/abi.ts: 0 = linear, 1 = sigmoid, 2 = relu, 3 = tanh).
// out may alias inp, dinp may alias dout (each element is read before it is written).
import { checkSpan } from './data';
import { ACT_LINEAR as LINEAR, ACT_SIGMOID as SIGMOID, ACT_RELU as RELU, ACT_TANH as TANH } from '../src/core/abi';

/** logistic function without overflow: exp of a non-positive argument only */
// @ts-ignore: decorator
@inline
function sigmoidf(x: f32): f32 {
  const e = Mathf.exp(-Mathf.abs(x)); // in (0, 1]
  const r: f32 = 1.0 / (1.0 + e);
  return x >= 0 ? r : e * r;
}

/**
 * exp(x) for x <= 0 in four lanes: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by the Cephes
 * degree-7 polynomial (~1 ulp on that range), times 2^n built in the exponent bits. Lanes below
 * -87.3 (where exp leaves the normal f32 range) give exactly 0: no denormals reach the next layer.
 * The constants are read from a table: V8 rebuilds every v128.const inside a loop with three
 * instructions at each use, while a load from the table folds into the arithmetic instruction.
 */
const EXP4 = memory.data<f32>([
  -87.33654, -87.33654, -87.33654, -87.33654, // 0: ln(2^-126)
  12582912.0, 12582912.0, 12582912.0, 12582912.0, // 16: 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
  1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341, // 32: 1 / ln2
  0.693359375, 0.693359375, 0.693359375, 0.693359375, // 48: ln2, high part (n times it is exact)
  2.12194440e-4, 2.12194440e-4, 2.12194440e-4, 2.12194440e-4, // 64: ln2 - its high part, negated
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, // 80: polynomial
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, // 96
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, // 112
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, // 128
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, // 144
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, // 160
  1.0, 1.0, 1.0, 1.0, // 176: 1
  12582785.0, 12582785.0, 12582785.0, 12582785.0, // 192: bits 0x4B400000 - 127, for 2^n below
  -0.0, -0.0, -0.0, -0.0, // 208: the sign bit alone: x | it is -|x|
  0.625, 0.625, 0.625, 0.625, // 224: tanh: below it the odd polynomial, above it the exp form
  -5.70498872745e-3, -5.70498872745e-3, -5.70498872745e-3, -5.70498872745e-3, // 240: tanh polynomial (Cephes tanhf)
  2.06390887954e-2, 2.06390887954e-2, 2.06390887954e-2, 2.06390887954e-2, // 256
  -5.37397155531e-2, -5.37397155531e-2, -5.37397155531e-2, -5.37397155531e-2, // 272
  1.33314422036e-1, 1.33314422036e-1, 1.33314422036e-1, 1.33314422036e-1, // 288
  -3.33332819422e-1, -3.33332819422e-1, -3.33332819422e-1, -3.33332819422e-1, // 304
]);

// @ts-ignore: decorator
@inline
function k4(offset: usize): v128 {
  return v128.load(EXP4 + offset);
}

// @ts-ignore: decorator
@inline
function expNonPositive4(x: v128): v128 {
  const small = f32x4.lt(x, k4(0));
  // one maxps; x first, so a NaN lane stays NaN (pmax(a, b) is a < b ? b : a) and flows through
  const xc = f32x4.pmax(x, k4(0));
  // n = round(x / ln2) by the 1.5 * 2^23 trick: t's bits are 0x4B400000 + n
  const t = f32x4.add(f32x4.mul(xc, k4(32)), k4(16));
  const n = f32x4.sub(t, k4(16));
  // r = x - n ln2, with ln2 split in two so n * ln2_hi is exact
  let r = f32x4.sub(xc, f32x4.mul(n, k4(48)));
  r = f32x4.add(r, f32x4.mul(n, k4(64)));
  const r2 = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(k4(80), r), k4(96));
  y = f32x4.add(f32x4.mul(y, r), k4(112));
  y = f32x4.add(f32x4.mul(y, r), k4(128));
  y = f32x4.add(f32x4.mul(y, r), k4(144));
  y = f32x4.add(f32x4.mul(y, r), k4(160));
  y = f32x4.add(f32x4.add(f32x4.mul(y, r2), r), k4(176));
  // 2^n: n in [-126, 0] here, so (n + 127) << 23 is a normal f32's bits
  const pow2n = i32x4.shl(i32x4.sub(t, k4(192)), 23);
  return v128.andnot(f32x4.mul(y, pow2n), small);
}

/** the logistic function of four lanes: e = exp(-|x|) in (0, 1] by the polynomial, the rest in f32x4 */
// @ts-ignore: decorator
@inline
function sigmoid4(x: v128): v128 {
  const e = expNonPositive4(v128.or(x, k4(208))); // -|x|: one or, where abs and neg took six instructions
  const r = f32x4.div(k4(176), f32x4.add(k4(176), e));
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(x, f32x4.splat(0)));
}

/**
 * tanh of four lanes (Cephes tanhf): |x| < 0.625 by the odd polynomial x + x^3 P(x^2), else
 * (1 - e) / (1 + e) with e = exp(-2|x|) from the polynomial above, the sign put back; NaN stays
 * NaN (it takes the polynomial side). Within a few ulp of Mathf.tanh (test/ops.conformance.test.ts).
 */
// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const ax = v128.andnot(x, k4(208));
  const e = expNonPositive4(v128.or(f32x4.add(ax, ax), k4(208)));
  const big = f32x4.div(f32x4.sub(k4(176), e), f32x4.add(k4(176), e));
  const z = f32x4.mul(ax, ax);
  let p = f32x4.add(f32x4.mul(k4(240), z), k4(256));
  p = f32x4.add(f32x4.mul(p, z), k4(272));
  p = f32x4.add(f32x4.mul(p, z), k4(288));
  p = f32x4.add(f32x4.mul(p, z), k4(304));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), ax), ax);
  // tanh(|x|), then x's sign bit put back (so tanh(-0) is -0)
  return v128.or(v128.bitselect(big, small, f32x4.ge(ax, k4(224))), v128.and(x, k4(208)));
}

/** the last n (1..3) floats at p as one vector (the other lanes 0) */
// @ts-ignore: decorator
@inline
function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** store the first n (1..3) lanes of v at p */
// @ts-ignore: decorator
@inline
function storeTail(p: usize, v: v128, n: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** sigmoid4 or tanh4 (act is a constant at every call site, so the choice folds away) */
// @ts-ignore: decorator
@inline
function vec4(x: v128, act: i32): v128 {
  return act == SIGMOID ? sigmoid4(x) : tanh4(x);
}

/**
 * out = vec4(inp, act) over N floats, two vectors per iteration; the last 1-3 elements go through
 * the same vector function (one padded vector), so a value never depends on where a batch ends
 */
// @ts-ignore: decorator
@inline
function mapVec(out: usize, inp: usize, N: i32, act: i32): void {
  let i = 0;
  for (; i + 8 <= N; i += 8) {
    const o = <usize>i << 2;
    const x0 = v128.load(inp + o), x1 = v128.load(inp + o, 16);
    v128.store(out + o, vec4(x0, act));
    v128.store(out + o, vec4(x1, act), 16);
  }
  for (; i + 4 <= N; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, vec4(v128.load(inp + o), act));
  }
  if (i < N) storeTail(out + (<usize>i << 2), vec4(loadTail(inp + (<usize>i << 2), N - i), act), N - i);
}

// out = act(inp)
export function activation_forward(out: usize, inp: usize, N: i32, act: i32): void {
  checkSpan(out, N, 4);
  checkSpan(inp, N, 4);
  assert(act >= LINEAR && act <= TANH, 'unknown activation code');
  let i = 0;
  if (act == SIGMOID) {
    if (ASC_FEATURE_SIMD) {
      // e = exp(-|x|) in (0, 1] by a vector polynomial (within ~2 ulp of Mathf.exp), the rest in f32x4
      mapVec(out, inp, N, SIGMOID);
      return;
    }
    for (; i < N; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, sigmoidf(load<f32>(inp + o)));
    }
  } else if (act == RELU) {
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      // pmax(0, x) = 0 < x ? x : 0, which is exactly (x > 0 ? x : 0) including NaN and -0
      for (; i + 8 <= N; i += 8) {
        const o = <usize>i << 2;
        v128.store(out + o, f32x4.pmax(zero, v128.load(inp + o)));
        v128.store(out + o, f32x4.pmax(zero, v128.load(inp + o, 16)), 16);
      }
    }
    for (; i < N; i++) {
      const o = <usize>i << 2;
      const x = load<f32>(inp + o);
      store<f32>(out + o, x > 0 ? x : 0);
    }
  } else if (act == TANH) {
    if (ASC_FEATURE_SIMD) {
      mapVec(out, inp, N, TANH);
      return;
    }
    // the scalar build: Mathf.tanh per element
    for (; i < N; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, Mathf.tanh(load<f32>(inp + o)));
    }
  } else {
    if (out != inp) memory.copy(out, inp, <usize>N << 2);
  }
}

// dinp = dout * act'(x), written in terms of the forward output y = act(x)
export function activation_backward(dinp: usize, dout: usize, out: usize, N: i32, act: i32): void {
  checkSpan(dinp, N, 4);
  checkSpan(dout, N, 4);
  checkSpan(out, N, 4);
  assert(act >= LINEAR && act <= TANH, 'unknown activation code');
  let i = 0;
  if (act == SIGMOID) {
    // dinp = dout * y * (1 - y)
    if (ASC_FEATURE_SIMD) {
      const one = f32x4.splat(1);
      for (; i + 4 <= N; i += 4) {
        const o = <usize>i << 2;
        const y = v128.load(out + o);
        v128.store(dinp + o, f32x4.mul(f32x4.mul(v128.load(dout + o), y), f32x4.sub(one, y)));
      }
    }
    for (; i < N; i++) {
      const o = <usize>i << 2;
      const y = load<f32>(out + o);
      store<f32>(dinp + o, load<f32>(dout + o) * y * (1 - y));
    }
  } else if (act == RELU) {
    // dinp = y > 0 ? dout : 0
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; i + 4 <= N; i += 4) {
        const o = <usize>i << 2;
        v128.store(dinp + o, v128.and(v128.load(dout + o), f32x4.gt(v128.load(out + o), zero)));
      }
    }
    for (; i < N; i++) {
      const o = <usize>i << 2;
      store<f32>(dinp + o, load<f32>(out + o) > 0 ? load<f32>(dout + o) : 0);
    }
  } else if (act == TANH) {
    // dinp = dout * (1 - y^2), as (1 - y) * (1 + y): no cancellation when |y| -> 1
    if (ASC_FEATURE_SIMD) {
      const one = f32x4.splat(1);
      for (; i + 4 <= N; i += 4) {
        const o = <usize>i << 2;
        const y = v128.load(out + o);
        v128.store(dinp + o, f32x4.mul(v128.load(dout + o), f32x4.mul(f32x4.sub(one, y), f32x4.add(one, y))));
      }
    }
    for (; i < N; i++) {
      const o = <usize>i << 2;
      const y = load<f32>(out + o);
      store<f32>(dinp + o, load<f32>(dout + o) * ((1 - y) * (1 + y)));
    }
  } else {
    if (dinp != dout) memory.copy(dinp, dout, <usize>N << 2);
  }
}
