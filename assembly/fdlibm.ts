// exp and log in f64 as fdlibm computes them (e_exp.c, e_log.c, Sun Microsystems 1993), which is
// what V8's Math.exp and Math.log run (src/base/ieee754.cc): so the softmax here gives the TS
// reference's probabilities and losses bit for bit (AssemblyScript's own Math.exp / Math.log are
// musl's, within an ulp of these but not equal). expLanes is the same exp in two f64 lanes, without
// branches.

const LN2_HI = 6.93147180369123816490e-01; // 0x3fe62e42 fee00000
const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
const INV_LN2 = 1.44269504088896338700e+00; // 0x3ff71547 652b82fe
const P1 = 1.66666666666666019037e-01;
const P2 = -2.77777777770155933842e-03;
const P3 = 6.61375632143793436117e-05;
const P4 = -1.65339022054652515390e-06;
const P5 = 4.13813679705723846039e-08;
const O_THRESHOLD = 7.09782712893383973096e+02;
const U_THRESHOLD = -7.45133219101941108420e+02;
const TWO_M1000 = 9.33263618503218878990e-302; // 2^-1000

// @ts-ignore: decorator
@inline
function hiWord(x: f64): u32 {
  return <u32>(reinterpret<u64>(x) >> 32);
}

/** 2^k as an f64, for k in [-1022, 1023] */
// @ts-ignore: decorator
@inline
function pow2(k: i32): f64 {
  return reinterpret<f64>(<u64>(k + 1023) << 52);
}

/** fdlibm's __ieee754_exp */
export function fdlibmExp(x: f64): f64 {
  const hx0 = hiWord(x);
  const xsb = hx0 >> 31;
  const hx = hx0 & 0x7fffffff;
  if (hx >= 0x40862e42) {
    // |x| >= 709.78...
    if (hx >= 0x7ff00000) return x != x ? x + x : xsb ? 0 : x;
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  let k = 0, hi: f64 = 0, lo: f64 = 0;
  if (hx > 0x3fd62e42) {
    // |x| > 0.5 ln2: x = k ln2 + r, |r| <= 0.5 ln2
    if (hx < 0x3ff0a2b2) {
      hi = xsb ? x + LN2_HI : x - LN2_HI;
      lo = xsb ? -LN2_LO : LN2_LO;
      k = xsb ? -1 : 1;
    } else {
      k = <i32>(INV_LN2 * x + (xsb ? -0.5 : 0.5));
      const t = <f64>k;
      hi = x - t * LN2_HI; // exact
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1 + x; // |x| < 2^-28
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) return k == 1024 ? y * 2.0 * pow2(1023) : y * pow2(k);
  return y * pow2(k + 1000) * TWO_M1000;
}

const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;
const TWO54 = 1.80143985094819840000e+16;

/** fdlibm's __ieee754_log */
export function fdlibmLog(x: f64): f64 {
  let hx = <i32>hiWord(x);
  const lx = <u32>reinterpret<u64>(x);
  let k = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -Infinity; // log(+-0)
    if (hx < 0) return NaN; // log(-#)
    k -= 54;
    x *= TWO54; // subnormal: scale up
    hx = <i32>hiWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  // normalize x or x / 2
  x = reinterpret<f64>((<u64>(hx | (i ^ 0x3ff00000)) << 32) | <u64>(<u32>reinterpret<u64>(x)));
  k += i >> 20;
  const f = x - 1.0;
  const dk = <f64>k;
  if ((0x000fffff & (2 + hx)) < 3) {
    // |f| < 2^-20
    if (f == 0) return k == 0 ? 0 : dk * LN2_HI + dk * LN2_LO;
    const R = f * f * (0.5 - 0.33333333333333333 * f);
    return k == 0 ? f - R : dk * LN2_HI - ((R - dk * LN2_LO) - f);
  }
  const s = f / (2.0 + f);
  const z = s * s;
  let ii = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  ii |= j;
  const R = t2 + t1;
  if (ii > 0) {
    const hfsq = 0.5 * f * f;
    return k == 0 ? f - (hfsq - s * (hfsq + R)) : dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
  }
  return k == 0 ? f - s * (f - R) : dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f);
}

/**
 * The constants of expLanes, each twice (one f64x2): V8 rebuilds a v128.const inside a loop with three
 * instructions at each use, a load from this table is one (as in assembly/activations.ts).
 * Measured: 8-9 ns a lane, against 9-10 with v128.const, 8-10 for musl's scalar exp and 17 for
 * fdlibmExp above (its division is in every call's critical path).
 */
const EXP2 = memory.data<f64>([
  reinterpret<f64>(0x3fd62e4300000000), reinterpret<f64>(0x3fd62e4300000000), // 0: |x| from here on: k != 0
  INV_LN2, INV_LN2, // 16
  0.5, 0.5, // 32
  LN2_HI, LN2_HI, // 48
  LN2_LO, LN2_LO, // 64
  P5, P5, // 80
  P4, P4, // 96
  P3, P3, // 112
  P2, P2, // 128
  P1, P1, // 144
  2.0, 2.0, // 160
  1.0, 1.0, // 176
  TWO_M1000, TWO_M1000, // 192
  reinterpret<f64>(0x3e30000000000000), reinterpret<f64>(0x3e30000000000000), // 208: 2^-28
  U_THRESHOLD, U_THRESHOLD, // 224
  reinterpret<f64>(<i64>-1021), reinterpret<f64>(<i64>-1021), // 240: i64 lanes
  reinterpret<f64>(<i64>1000), reinterpret<f64>(<i64>1000), // 256: i64 lanes
  reinterpret<f64>(<i64>1023), reinterpret<f64>(<i64>1023), // 272: i64 lanes
  -0.0, -0.0, // 288: the sign bit
  O_THRESHOLD, O_THRESHOLD, // 304
  Infinity, Infinity, // 320
  reinterpret<f64>(<i64>1024), reinterpret<f64>(<i64>1024), // 336: i64 lanes
  reinterpret<f64>(<i64>1), reinterpret<f64>(<i64>1), // 352: i64 lanes
]);

// @ts-ignore: decorator
@inline
function c2(offset: usize): v128 {
  return v128.load(EXP2 + offset);
}

/**
 * fdlibmExp of two lanes, every branch a lane select: |x| <= 0.5 ln2 takes k = 0 (the general
 * formula then equals fdlibm's k = 0 one bit for bit: c - 2 = -(2 - c) and 0 - q = -q exactly),
 * 0.5 ln2 < |x| < 1.5 ln2 gives k = +-1 as fdlibm's middle case does (same hi and lo), |x| < 2^-28
 * gives 1 + x, x < -745.13 gives 0, x > 709.78 Infinity, k = 1024 scales by 2 and 2^1023, NaN
 * stays NaN. anySign false (a constant at each call site): the lanes hold x <= 0, -Infinity or
 * NaN, as the softmax's x - max, and the steps for positive x are left out (they cost the softmax
 * 1.1-1.25x its time).
 */
// @ts-ignore: decorator
@inline
export function expLanes(x: v128, anySign: bool): v128 {
  const ax = f64x2.abs(x);
  // hx > 0x3fd62e42, as doubles: |x| >= 0x3fd62e43 00000000
  const reduce = f64x2.ge(ax, c2(0));
  // k = (int)(x / ln2 + copysign(0.5, x)), truncated toward zero as C's cast
  const xl = f64x2.mul(x, c2(16));
  const kr = anySign ? f64x2.add(xl, v128.or(c2(32), v128.and(x, c2(288)))) : f64x2.sub(xl, c2(32));
  const kf = v128.and(f64x2.trunc(kr), reduce);
  const hi = f64x2.sub(x, f64x2.mul(kf, c2(48)));
  const lo = f64x2.mul(kf, c2(64));
  const r = f64x2.sub(hi, lo);
  const t = f64x2.mul(r, r);
  let p = f64x2.add(c2(96), f64x2.mul(t, c2(80)));
  p = f64x2.add(c2(112), f64x2.mul(t, p));
  p = f64x2.add(c2(128), f64x2.mul(t, p));
  p = f64x2.add(c2(144), f64x2.mul(t, p));
  const c = f64x2.sub(r, f64x2.mul(t, p));
  const q = f64x2.div(f64x2.mul(r, c), f64x2.sub(c2(160), c));
  const y = f64x2.sub(c2(176), f64x2.sub(f64x2.sub(lo, q), hi));
  // 2^k (k in [-1021, 1023]); 2^1023 then 2 (k = 1024); 2^(k + 1000) then 2^-1000 (k in
  // [-1075, -1022]: subnormal results)
  const k = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(kf));
  const deep = i64x2.lt_s(k, c2(240));
  let kk = i64x2.add(k, v128.and(deep, c2(256)));
  const top = anySign ? i64x2.eq(k, c2(336)) : i64x2.splat(0);
  if (anySign) kk = i64x2.sub(kk, v128.and(top, c2(352)));
  let e = f64x2.mul(y, i64x2.shl(i64x2.add(kk, c2(272)), 52));
  if (anySign) e = v128.bitselect(f64x2.add(e, e), e, top);
  e = v128.bitselect(f64x2.mul(e, c2(192)), e, deep);
  e = v128.bitselect(f64x2.add(c2(176), x), e, f64x2.lt(ax, c2(208)));
  e = v128.andnot(e, f64x2.lt(x, c2(224)));
  if (anySign) e = v128.bitselect(c2(320), e, f64x2.gt(x, c2(304)));
  return v128.bitselect(f64x2.add(x, x), e, f64x2.ne(x, x));
}
