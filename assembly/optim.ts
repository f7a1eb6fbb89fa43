// Optimizer updates, elementwise over N parameters. params, grads, vel, m, v are (N) f32.
// Hyperparameters cross as f64 (JS numbers) so derived constants such as 1 - beta2 are formed
// before rounding to f32 (f32(1 - 0.999) vs 1 - f32(0.999) differ by 1e-5 relative); the
// per-element arithmetic is f32.
import { checkSpan } from './data';

// Optimizer state below this magnitude is flushed to 0. Momentum and Adam's m decay geometrically
// where the gradient is 0 (first-layer weights of pixels that are always 0) and would sink into
// f32 denormals, which x86 computes ~100x slower; wasm has no flush-to-zero mode, so we do it.
// The TS reference flushes identically. (An update that small cannot move a weight anyway.)
const TINY: f32 = 1e-30;
/** TINY in four lanes, read once per call: a v128.const is rebuilt by V8 at every use inside a loop */
export const TINY4 = memory.data<f32>([1e-30, 1e-30, 1e-30, 1e-30]);

// The divergence guard lives in the updates, so a step costs no weight backup and no extra pass:
//  1. the gradients are scanned first (read-only, still in cache from the backward pass); if any
//     is NaN or Inf, nothing is touched and the count is returned (> 0);
//  2. during the update, an element whose new weight would not be finite keeps its old weight and
//     optimizer state; the number of such elements is returned negated (< 0; 0 = all applied).

/** lanes of v that are finite, as an all-ones mask (v - v is 0 exactly for finite v) */
// @ts-ignore: decorator
@inline
function finiteMask(v: v128): v128 {
  const d = f32x4.sub(v, v);
  return f32x4.eq(d, d);
}

// @ts-ignore: decorator
@inline
function countMasked(acc: v128): i32 {
  return -(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
}

// One element or one f32x4 of each update, shared with the fused first-layer update
// (sparse_update in assembly/sparse.ts) so both do the same arithmetic. The vector forms return
// the lanes that were kept (all ones) because the new weight would not be finite.

/** sgd on 4 weights at pAt with gradient g0: p -= lr * (g0 + wd * p) */
// @ts-ignore: decorator
@inline
export function sgdVec(pAt: usize, g0: v128, vlr: v128, vwd: v128): v128 {
  const p = v128.load(pAt);
  const np = f32x4.sub(p, f32x4.mul(vlr, f32x4.add(g0, f32x4.mul(vwd, p))));
  const ok = finiteMask(np);
  v128.store(pAt, v128.bitselect(np, p, ok));
  return v128.not(ok);
}
/**
 * sgdVec without weight decay (vwd = 0): p -= lr * g0, bit-identical to it (g0 + 0 * p differs
 * from g0 only in the sign of a zero, which p - lr * g leaves as it is: for p = -0, 0 * p is -0
 * and the sum is g0 itself)
 */
// @ts-ignore: decorator
@inline
export function sgdPlainVec(pAt: usize, g: v128, vlr: v128): v128 {
  const p = v128.load(pAt);
  const np = f32x4.sub(p, f32x4.mul(vlr, g));
  const ok = finiteMask(np);
  v128.store(pAt, v128.bitselect(np, p, ok));
  return v128.not(ok);
}
/** sgd on the weight at pAt; returns 1 if it was kept */
// @ts-ignore: decorator
@inline
export function sgdOne(pAt: usize, g0: f32, lr: f32, weightDecay: f32): i32 {
  const p = load<f32>(pAt);
  const np = p - lr * (g0 + weightDecay * p);
  if (np - np == 0) {
    store<f32>(pAt, np);
    return 0;
  }
  return 1;
}

/** momentum (vcg, vcv) = (0, 1) or Nesterov (1, mu) on 4 weights at pAt, velocities at vAt */
// @ts-ignore: decorator
@inline
export function momentumVec(pAt: usize, vAt: usize, g0: v128, vlr: v128, vmu: v128, vwd: v128, vcg: v128, vcv: v128, vtiny: v128): v128 {
  const p = v128.load(pAt);
  const g = f32x4.add(g0, f32x4.mul(vwd, p));
  const v0 = v128.load(vAt);
  let v = f32x4.add(f32x4.mul(vmu, v0), g);
  v = v128.and(v, f32x4.ge(f32x4.abs(v), vtiny));
  const np = f32x4.sub(p, f32x4.mul(vlr, f32x4.add(f32x4.mul(vcg, g), f32x4.mul(vcv, v))));
  const ok = finiteMask(np);
  v128.store(vAt, v128.bitselect(v, v0, ok));
  v128.store(pAt, v128.bitselect(np, p, ok));
  return v128.not(ok);
}
/**
 * momentumVec for plain momentum without weight decay (vcg, vcv, vwd = 0, 1, 0), the usual case,
 * in 5 fewer operations and 3 fewer registers. Bit-identical to momentumVec there: g0 + 0 * p,
 * 0 * g + 1 * v and v differ at most in the sign of a zero (or give NaN where v is infinite, when
 * both keep the weight), and the velocity's flush turns either zero into +0.
 */
// @ts-ignore: decorator
@inline
export function momentumPlainVec(pAt: usize, vAt: usize, g: v128, vlr: v128, vmu: v128, vtiny: v128): v128 {
  const p = v128.load(pAt);
  const v0 = v128.load(vAt);
  let v = f32x4.add(f32x4.mul(vmu, v0), g);
  v = v128.and(v, f32x4.ge(f32x4.abs(v), vtiny));
  const np = f32x4.sub(p, f32x4.mul(vlr, v));
  const ok = finiteMask(np);
  v128.store(vAt, v128.bitselect(v, v0, ok));
  v128.store(pAt, v128.bitselect(np, p, ok));
  return v128.not(ok);
}
/** momentum or Nesterov on the weight at pAt; returns 1 if it was kept */
// @ts-ignore: decorator
@inline
export function momentumOne(pAt: usize, vAt: usize, g0: f32, lr: f32, mu: f32, weightDecay: f32, nesterov: i32): i32 {
  const p = load<f32>(pAt);
  const g = g0 + weightDecay * p;
  let v = mu * load<f32>(vAt) + g;
  if (Mathf.abs(v) < TINY) v = 0;
  const np = p - lr * (nesterov ? g + mu * v : v);
  if (np - np == 0) {
    store<f32>(vAt, v);
    store<f32>(pAt, np);
    return 0;
  }
  return 1;
}

/** lanes set in the masks summed over a loop, as a count */
// @ts-ignore: decorator
@inline
export function maskedCount(acc: v128): i32 {
  return countMasked(acc);
}

// params -= lr * (grads + weightDecay * params)
// (returns the guard's count, see above)
export function sgd_update(params: usize, grads: usize, N: i32, lr64: f64, wd64: f64): i32 {
  const lr = <f32>lr64, weightDecay = <f32>wd64;
  checkSpan(params, N, 4);
  checkSpan(grads, N, 4);
  const badGrads = count_nonfinite(grads, N);
  if (badGrads) return badGrads;
  let i = 0, kept = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr), vwd = f32x4.splat(weightDecay);
    let acc = i32x4.splat(0);
    if (weightDecay == 0) {
      for (; i + 4 <= N; i += 4) {
        const o = <usize>i << 2;
        acc = i32x4.add(acc, sgdPlainVec(params + o, v128.load(grads + o), vlr));
      }
    }
    for (; i + 4 <= N; i += 4) {
      const o = <usize>i << 2;
      acc = i32x4.add(acc, sgdVec(params + o, v128.load(grads + o), vlr, vwd));
    }
    kept = countMasked(acc);
  }
  for (; i < N; i++) {
    const o = <usize>i << 2;
    kept += sgdOne(params + o, load<f32>(grads + o), lr, weightDecay);
  }
  return -kept;
}

// g = grads + wd * params; vel = mu * vel + g; params -= lr * (nesterov ? g + mu * vel : vel)
// (returns the guard's count, see above)
export function momentum_update(params: usize, grads: usize, vel: usize, N: i32, lr64: f64, mu64: f64, wd64: f64, nesterov: i32): i32 {
  const lr = <f32>lr64, mu = <f32>mu64, weightDecay = <f32>wd64;
  checkSpan(params, N, 4);
  checkSpan(grads, N, 4);
  checkSpan(vel, N, 4);
  const badGrads = count_nonfinite(grads, N);
  if (badGrads) return badGrads;
  let i = 0, kept = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = i32x4.splat(0);
    const vlr = f32x4.splat(lr), vmu = f32x4.splat(mu), vwd = f32x4.splat(weightDecay);
    // step = cg * g + cv * vel: (0, 1) for plain momentum, (1, mu) for Nesterov; exact in both
    const vcg = f32x4.splat(nesterov ? 1 : 0), vcv = nesterov ? vmu : f32x4.splat(1), vtiny = v128.load(TINY4);
    if (!nesterov && weightDecay == 0) {
      for (; i + 4 <= N; i += 4) {
        const o = <usize>i << 2;
        acc = i32x4.add(acc, momentumPlainVec(params + o, vel + o, v128.load(grads + o), vlr, vmu, vtiny));
      }
    }
    for (; i + 4 <= N; i += 4) {
      const o = <usize>i << 2;
      acc = i32x4.add(acc, momentumVec(params + o, vel + o, v128.load(grads + o), vlr, vmu, vwd, vcg, vcv, vtiny));
    }
    kept = countMasked(acc);
  }
  for (; i < N; i++) {
    const o = <usize>i << 2;
    kept += momentumOne(params + o, vel + o, load<f32>(grads + o), lr, mu, weightDecay, nesterov);
  }
  return -kept;
}

// Adam (decoupled = 0: L2 folded into the gradient) / AdamW (decoupled = 1):
//   m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; step = (m/bc1) / (sqrt(v/bc2) + eps)
//   params -= lr * (decoupled ? step + wd*params : step)
// (returns the guard's count, see above)
export function adam_update(params: usize, grads: usize, m: usize, v: usize, N: i32, lr64: f64, beta1_64: f64, beta2_64: f64, eps64: f64, wd64: f64, decoupled: i32, bc1_64: f64, bc2_64: f64): i32 {
  const lr = <f32>lr64, beta1 = <f32>beta1_64, beta2 = <f32>beta2_64, eps = <f32>eps64, weightDecay = <f32>wd64;
  const bc1 = <f32>bc1_64, bc2 = <f32>bc2_64;
  checkSpan(params, N, 4);
  checkSpan(grads, N, 4);
  checkSpan(m, N, 4);
  checkSpan(v, N, 4);
  const c1 = <f32>(1 - beta1_64), c2 = <f32>(1 - beta2_64);
  // decoupled decay goes into the step, coupled decay into the gradient: one of wdG, wdS is 0
  const wdG: f32 = decoupled ? 0 : weightDecay;
  const wdS: f32 = decoupled ? weightDecay : 0;
  const badGrads = count_nonfinite(grads, N);
  if (badGrads) return badGrads;
  let i = 0, kept = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = i32x4.splat(0);
    const vlr = f32x4.splat(lr), vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2), vc1 = f32x4.splat(c1), vc2 = f32x4.splat(c2);
    const vtiny = v128.load(TINY4);
    // bias corrections as reciprocals: one division per element is left, not three
    const vrbc1 = f32x4.splat(<f32>(1 / bc1_64)), vrbc2 = f32x4.splat(<f32>(1 / bc2_64));
    const veps = f32x4.splat(eps), vbc1 = f32x4.splat(bc1), vbc2 = f32x4.splat(bc2), vwdG = f32x4.splat(wdG), vwdS = f32x4.splat(wdS);
    for (; i + 4 <= N; i += 4) {
      const o = <usize>i << 2;
      const p = v128.load(params + o);
      const g = f32x4.add(v128.load(grads + o), f32x4.mul(vwdG, p));
      let mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, g));
      let vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(vc2, g), g));
      mi = v128.and(mi, f32x4.ge(f32x4.abs(mi), vtiny));
      vi = v128.and(vi, f32x4.ge(vi, vtiny));
      const step = f32x4.div(f32x4.mul(mi, vrbc1), f32x4.add(f32x4.sqrt(f32x4.mul(vi, vrbc2)), veps));
      const np = f32x4.sub(p, f32x4.mul(vlr, f32x4.add(step, f32x4.mul(vwdS, p))));
      const ok = finiteMask(np);
      acc = i32x4.add(acc, v128.not(ok));
      v128.store(m + o, v128.bitselect(mi, v128.load(m + o), ok));
      v128.store(v + o, v128.bitselect(vi, v128.load(v + o), ok));
      v128.store(params + o, v128.bitselect(np, p, ok));
    }
    kept = countMasked(acc);
  }
  for (; i < N; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(params + o);
    const g = load<f32>(grads + o) + wdG * p;
    let mi = beta1 * load<f32>(m + o) + c1 * g;
    let vi = beta2 * load<f32>(v + o) + c2 * g * g;
    if (Mathf.abs(mi) < TINY) mi = 0;
    if (vi < TINY) vi = 0;
    const step = (mi / bc1) / (Mathf.sqrt(vi / bc2) + eps);
    const np = p - lr * (step + wdS * p);
    if (np - np == 0) {
      store<f32>(m + o, mi);
      store<f32>(v + o, vi);
      store<f32>(params + o, np);
    } else kept++;
  }
  return -kept;
}

// returns how many of x[0..N) are NaN or +-Inf (x - x is 0 exactly for finite x); run on the
// gradients before each update, so a diverging step is refused before it touches the weights
export function count_nonfinite(x: usize, N: i32): i32 {
  checkSpan(x, N, 4);
  let i = 0, count = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = i32x4.splat(0);
    for (; i + 4 <= N; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const d = f32x4.sub(v, v);
      acc = i32x4.sub(acc, f32x4.ne(d, d));
    }
    count = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  }
  for (; i < N; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v - v != 0) count++;
  }
  return count;
}
