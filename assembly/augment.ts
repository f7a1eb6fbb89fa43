// On-the-fly augmentation of a gathered batch: one call warps every row with its own random affine
// transform (shift, rotation, scale) and elastic distortion (Simard et al. 2003), sampling the
// u8 source bilinearly through the inverse map (zero outside) and writing u8 rows.
//
// Randomness is counter-based (the lowbias32 hash of assembly/dropout.ts): row b's parameters and
// noise come from hash(j, stream, rowSeed(seed, b)), so the TS reference draws the same numbers.
// Every float operation is f32 and in the order of src/backends/ts/augment.ts's reference (which rounds each
// step with Math.fround); sin/cos are fixed polynomials, the Gaussian weights come from the host.
//
// Elastic field: uniform noise in [-1, 1) on a coarse grid (one point every 4 pixels, padded by R
// points), smoothed by a separable Gaussian (weights w[0..2R], sum 1, precomputed by the host at the
// start of `field`), interpolated bilinearly to the pixels and scaled by alpha / 4 (the factor that
// gives the displacement the standard deviation of Simard's per-pixel field with the same alpha and
// sigma). `field` is scratch planned by the host: weights (2R+1), noise (NY*NX), tmp (NY*GX),
// dx (GY*GX), dy (GY*GX), then a zero-bordered copy of the source row, (W+2)*(H+2) bytes, so the
// four bilinear taps need no bounds checks; GX = (W-1)/4 + 2, NX = GX + 2R (likewise for y).
import { checkSpan } from './data';
import { counterHash as hash } from './hash';


// uniform in [-1, 1), exact in f32
// @ts-ignore: decorator
@inline
function uniform(i: u32, stream: u32, seed: u32): f32 {
  return <f32>(hash(i, stream, seed) >>> 8) * <f32>1.1920928955078125e-7 - <f32>1.0;
}


// coarse-grid smoothing of one noise field into dst (GY, GX)
function smooth(field: usize, dst: usize, stream: u32, rowSeed: u32, base: u32, R: i32, GX: i32, GY: i32): void {
  const NX = GX + 2 * R, NY = GY + 2 * R, K = 2 * R + 1;
  const wts = field;
  const noise = field + (<usize>K << 2);
  const tmp = noise + (<usize>(NX * NY) << 2);
  for (let j = 0; j < NX * NY; j++) store<f32>(noise + (<usize>j << 2), uniform(base + <u32>j, stream, rowSeed));
  for (let r = 0; r < NY; r++) {
    for (let c = 0; c < GX; c++) {
      let acc: f32 = 0;
      for (let k = 0; k < K; k++) acc += load<f32>(wts + (<usize>k << 2)) * load<f32>(noise + (<usize>(r * NX + c + k) << 2));
      store<f32>(tmp + (<usize>(r * GX + c) << 2), acc);
    }
  }
  for (let r = 0; r < GY; r++) {
    for (let c = 0; c < GX; c++) {
      let acc: f32 = 0;
      for (let k = 0; k < K; k++) acc += load<f32>(wts + (<usize>k << 2)) * load<f32>(tmp + (<usize>((r + k) * GX + c) << 2));
      store<f32>(dst + (<usize>(r * GX + c) << 2), acc);
    }
  }
}

// bilinear value of a coarse field (GY, GX) at pixel (x, y): grid point every 4 pixels
// @ts-ignore: decorator
@inline
function coarse(f: usize, GX: i32, x: i32, y: i32): f32 {
  const gx = x >> 2, gy = y >> 2;
  const fx = <f32>(x & 3) * <f32>0.25, fy = <f32>(y & 3) * <f32>0.25;
  const p = f + (<usize>(gy * GX + gx) << 2);
  const f00 = load<f32>(p), f10 = load<f32>(p, 4);
  const f01 = load<f32>(p + (<usize>GX << 2)), f11 = load<f32>(p + (<usize>GX << 2), 4);
  const a = f00 + fx * (f10 - f00);
  const b = f01 + fx * (f11 - f01);
  return a + fy * (b - a);
}

// coarse() for the four pixels x .. x+3 (x a multiple of 4) of one row: p points at their cell
// @ts-ignore: decorator
@inline
function coarse4(p: usize, GX: i32, quarter: v128, fy: f32): v128 {
  const f00 = load<f32>(p), f10 = load<f32>(p, 4);
  const f01 = load<f32>(p + (<usize>GX << 2)), f11 = load<f32>(p + (<usize>GX << 2), 4);
  const a = f32x4.add(f32x4.splat(f00), f32x4.mul(quarter, f32x4.splat(f10 - f00)));
  const b = f32x4.add(f32x4.splat(f01), f32x4.mul(quarter, f32x4.splat(f11 - f01)));
  return f32x4.add(a, f32x4.mul(f32x4.splat(fy), f32x4.sub(b, a)));
}

/**
 * out (B, W*H) u8 = row idx[b] of src (rows, W*H) u8, warped. params (B, 4) f32 holds each row's
 * (tx, ty, angle in radians, scale): drawn here when random != 0 (tx, ty = shift * u, angle =
 * rotate * u, scale = 1 + scaleRange * u, u uniform in [-1, 1)), else read. Output pixel p samples
 * the source at c + R(-angle) (p - c - t) / scale + alpha/4 * d(p), c the image centre, d the
 * elastic field (skipped when alpha = 0).
 */
export function augment_rows_u8(
  out: usize, src: usize, idx: usize, params: usize, field: usize,
  B: i32, W: i32, H: i32, seed: u32, stream: u32,
  shift: f32, rotate: f32, scaleRange: f32, alpha: f32, R: i32, random: i32,
): void {
  const C = W * H;
  checkSpan(out, B * C, 1);
  checkSpan(idx, B, 4);
  checkSpan(params, B * 4, 4);
  const GX = ((W - 1) >> 2) + 2, GY = ((H - 1) >> 2) + 2;
  const NX = GX + 2 * R, NY = GY + 2 * R, K = 2 * R + 1;
  const dX = field + (<usize>(K + NX * NY + NY * GX) << 2);
  const dY = dX + (<usize>(GX * GY) << 2);
  const pad = dY + (<usize>(GX * GY) << 2), PW = W + 2;
  checkSpan(field, K + NX * NY + NY * GX + 2 * GX * GY + ((PW * (H + 2) + 3) >> 2), 4);
  // the padded copy's zero border (the inside is overwritten per row)
  for (let x = 0; x < PW; x++) {
    store<u8>(pad + <usize>x, 0);
    store<u8>(pad + <usize>((H + 1) * PW + x), 0);
  }
  for (let y = 1; y <= H; y++) {
    store<u8>(pad + <usize>(y * PW), 0);
    store<u8>(pad + <usize>(y * PW + W + 1), 0);
  }
  const cx = <f32>(W - 1) * <f32>0.5, cy = <f32>(H - 1) * <f32>0.5;
  const k = alpha * <f32>0.25;
  for (let b = 0; b < B; b++) {
    const row = load<i32>(idx + (<usize>b << 2));
    assert(row >= 0, 'negative row index');
    const s = src + <usize>row * <usize>C;
    checkSpan(s, C, 1);
    const o = out + <usize>b * <usize>C;
    const pp = params + (<usize>b << 4);
    const rowSeed = hash(<u32>b, 0x2545f491, seed);
    if (random) {
      store<f32>(pp, shift * uniform(0, stream, rowSeed));
      store<f32>(pp, shift * uniform(1, stream, rowSeed), 4);
      store<f32>(pp, rotate * uniform(2, stream, rowSeed), 8);
      store<f32>(pp, <f32>1 + scaleRange * uniform(3, stream, rowSeed), 12);
    }
    const tx = load<f32>(pp), ty = load<f32>(pp, 4), ang = load<f32>(pp, 8), sc = load<f32>(pp, 12);
    // sin and cos by Taylor polynomials (|angle| <= pi/4 is checked by the host)
    const a2 = ang * ang;
    let t: f32 = <f32>1 - a2 * <f32>(1.0 / 72.0);
    t = <f32>1 - a2 * <f32>(1.0 / 42.0) * t;
    t = <f32>1 - a2 * <f32>(1.0 / 20.0) * t;
    t = <f32>1 - a2 * <f32>(1.0 / 6.0) * t;
    const sn = ang * t;
    let u: f32 = <f32>1 - a2 * <f32>(1.0 / 56.0);
    u = <f32>1 - a2 * <f32>(1.0 / 30.0) * u;
    u = <f32>1 - a2 * <f32>(1.0 / 12.0) * u;
    const cs = <f32>1 - a2 * <f32>0.5 * u;
    const inv = <f32>1 / sc;
    const elastic = alpha != 0;
    for (let y = 0; y < H; y++) memory.copy(pad + <usize>((y + 1) * PW + 1), s + <usize>(y * W), <usize>W);
    if (elastic) {
      smooth(field, dX, stream, rowSeed, 16, R, GX, GY);
      smooth(field, dY, stream, rowSeed, 16 + <u32>(NX * NY), R, GX, GY);
    }
    for (let y = 0; y < H; y++) {
      const v = <f32>y - cy - ty;
      let x = 0;
      if (ASC_FEATURE_SIMD) {
        // four output pixels at a time (x a multiple of 4: they share a coarse-grid cell); the
        // same f32 operations per lane as the scalar loop below, so the results are identical
        const vv = f32x4.splat(v), vcs = f32x4.splat(cs), vsn = f32x4.splat(sn), vinv = f32x4.splat(inv);
        const vcx = f32x4.splat(cx), vcy = f32x4.splat(cy), vtx = f32x4.splat(tx);
        const lanes = f32x4(0, 1, 2, 3), quarter = f32x4(0, 0.25, 0.5, 0.75);
        const lo = f32x4.splat(-1), hiX = f32x4.splat(<f32>W), hiY = f32x4.splat(<f32>H);
        const svy = f32x4.mul(vsn, vv), cvy = f32x4.mul(vcs, vv);
        const fyC = <f32>(y & 3) * <f32>0.25;
        const rowC = <usize>((y >> 2) * GX) << 2;
        for (; x + 4 <= W; x += 4) {
          const uu = f32x4.sub(f32x4.sub(f32x4.add(f32x4.splat(<f32>x), lanes), vcx), vtx);
          let sx = f32x4.add(vcx, f32x4.mul(f32x4.add(f32x4.mul(vcs, uu), svy), vinv));
          let sy = f32x4.add(vcy, f32x4.mul(f32x4.sub(cvy, f32x4.mul(vsn, uu)), vinv));
          if (elastic) {
            const cell = rowC + (<usize>(x >> 2) << 2);
            sx = f32x4.add(sx, f32x4.mul(f32x4.splat(k), coarse4(dX + cell, GX, quarter, fyC)));
            sy = f32x4.add(sy, f32x4.mul(f32x4.splat(k), coarse4(dY + cell, GX, quarter, fyC)));
          }
          const inside = v128.and(v128.and(f32x4.gt(sx, lo), f32x4.lt(sx, hiX)), v128.and(f32x4.gt(sy, lo), f32x4.lt(sy, hiY)));
          if (!v128.any_true(inside)) {
            store<i32>(o + <usize>(y * W + x), 0);
            continue;
          }
          const x0f = f32x4.floor(sx), y0f = f32x4.floor(sy);
          const fx = f32x4.sub(sx, x0f), fy = f32x4.sub(sy, y0f);
          // tap offsets in the padded copy; lanes outside read offset 0 (a zero) and are masked anyway
          const qi = v128.and(i32x4.add(i32x4.mul(i32x4.add(i32x4.trunc_sat_f32x4_s(y0f), i32x4.splat(1)), i32x4.splat(PW)), i32x4.add(i32x4.trunc_sat_f32x4_s(x0f), i32x4.splat(1))), inside);
          const q0 = pad + <usize>i32x4.extract_lane(qi, 0), q1 = pad + <usize>i32x4.extract_lane(qi, 1);
          const q2 = pad + <usize>i32x4.extract_lane(qi, 2), q3 = pad + <usize>i32x4.extract_lane(qi, 3);
          let t = i32x4.splat(<i32>load<u16>(q0));
          t = i32x4.replace_lane(t, 1, <i32>load<u16>(q1));
          t = i32x4.replace_lane(t, 2, <i32>load<u16>(q2));
          t = i32x4.replace_lane(t, 3, <i32>load<u16>(q3));
          let bt = i32x4.splat(<i32>load<u16>(q0 + <usize>PW));
          bt = i32x4.replace_lane(bt, 1, <i32>load<u16>(q1 + <usize>PW));
          bt = i32x4.replace_lane(bt, 2, <i32>load<u16>(q2 + <usize>PW));
          bt = i32x4.replace_lane(bt, 3, <i32>load<u16>(q3 + <usize>PW));
          const m8 = i32x4.splat(255);
          const p00 = f32x4.convert_i32x4_s(v128.and(t, m8)), p10 = f32x4.convert_i32x4_s(i32x4.shr_u(t, 8));
          const p01 = f32x4.convert_i32x4_s(v128.and(bt, m8)), p11 = f32x4.convert_i32x4_s(i32x4.shr_u(bt, 8));
          const top = f32x4.add(p00, f32x4.mul(fx, f32x4.sub(p10, p00)));
          const bot = f32x4.add(p01, f32x4.mul(fx, f32x4.sub(p11, p01)));
          const val = v128.and(f32x4.add(top, f32x4.mul(fy, f32x4.sub(bot, top))), inside);
          let q = i32x4.trunc_sat_f32x4_s(f32x4.add(val, f32x4.splat(0.5)));
          q = i32x4.max_s(i32x4.min_s(q, m8), i32x4.splat(0));
          const b8 = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(q, q), i16x8.narrow_i32x4_u(q, q));
          store<i32>(o + <usize>(y * W + x), i32x4.extract_lane(b8, 0));
        }
      }
      for (; x < W; x++) {
        const uu = <f32>x - cx - tx;
        let sx = cx + (cs * uu + sn * v) * inv;
        let sy = cy + (cs * v - sn * uu) * inv;
        if (elastic) {
          sx += k * coarse(dX, GX, x, y);
          sy += k * coarse(dY, GX, x, y);
        }
        let val: f32 = 0;
        if (sx > <f32>-1 && sx < <f32>W && sy > <f32>-1 && sy < <f32>H) {
          const x0f = Mathf.floor(sx), y0f = Mathf.floor(sy);
          const fx = sx - x0f, fy = sy - y0f;
          // x0 in [-1, W-1], y0 in [-1, H-1]: the taps are inside the padded copy
          const q0 = pad + <usize>((<i32>y0f + 1) * PW + <i32>x0f + 1);
          const p00 = <f32>load<u8>(q0), p10 = <f32>load<u8>(q0, 1);
          const p01 = <f32>load<u8>(q0 + <usize>PW), p11 = <f32>load<u8>(q0 + <usize>PW, 1);
          const top = p00 + fx * (p10 - p00);
          const bot = p01 + fx * (p11 - p01);
          val = top + fy * (bot - top);
        }
        let q = <i32>(val + <f32>0.5);
        if (q > 255) q = 255;
        if (q < 0) q = 0;
        store<u8>(o + <usize>(y * W + x), <u8>q);
      }
    }
  }
}
