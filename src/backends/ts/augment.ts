/**
 * The reference of assembly/augment.ts (augment_rows_u8): the same f32 operations in the same order
 * (each rounded with Math.fround), with the same counter-based hash for the random numbers, so every
 * backend warps every row the same way. The options and the scratch layout: src/nn/augment.ts.
 */
import { counterHash } from '../../core/backend.js';

const fr = Math.fround;

const hash = counterHash;
/** uniform in [-1, 1), exact in f32 */
const uniform = (i: number, stream: number, seed: number) => (hash(i, stream, seed) >>> 8) * 1.1920928955078125e-7 - 1;

const C72 = fr(1 / 72), C42 = fr(1 / 42), C20 = fr(1 / 20), C6 = fr(1 / 6), C56 = fr(1 / 56), C30 = fr(1 / 30), C12 = fr(1 / 12);

function smooth(field: Float32Array, dst: number, stream: number, rowSeed: number, base: number, R: number, GX: number, GY: number): void {
  const NX = GX + 2 * R, NY = GY + 2 * R, K = 2 * R + 1;
  const noise = K, tmp = noise + NX * NY;
  for (let j = 0; j < NX * NY; j++) field[noise + j] = uniform(base + j, stream, rowSeed);
  for (let r = 0; r < NY; r++) {
    for (let c = 0; c < GX; c++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = fr(acc + fr(field[k] * field[noise + r * NX + c + k]));
      field[tmp + r * GX + c] = acc;
    }
  }
  for (let r = 0; r < GY; r++) {
    for (let c = 0; c < GX; c++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = fr(acc + fr(field[k] * field[tmp + (r + k) * GX + c]));
      field[dst + r * GX + c] = acc;
    }
  }
}

function coarse(f: Float32Array, at: number, GX: number, x: number, y: number): number {
  const gx = x >> 2, gy = y >> 2;
  const fx = (x & 3) * 0.25, fy = (y & 3) * 0.25;
  const p = at + gy * GX + gx;
  const f00 = f[p], f10 = f[p + 1], f01 = f[p + GX], f11 = f[p + GX + 1];
  const a = fr(f00 + fr(fx * fr(f10 - f00)));
  const b = fr(f01 + fr(fx * fr(f11 - f01)));
  return fr(a + fr(fy * fr(b - a)));
}

/** the reference of assembly/augment.ts's augment_rows_u8 (same arguments as arrays; see there) */
export function augmentRowsRef(
  out: Uint8Array, src: Uint8Array, idx: Int32Array, params: Float32Array, field: Float32Array,
  B: number, W: number, H: number, seed: number, stream: number,
  shift: number, rotate: number, scaleRange: number, alpha: number, R: number, random: boolean,
): void {
  const C = W * H;
  shift = fr(shift); rotate = fr(rotate); scaleRange = fr(scaleRange); alpha = fr(alpha);
  seed >>>= 0; stream >>>= 0;
  const GX = ((W - 1) >> 2) + 2, GY = ((H - 1) >> 2) + 2;
  const NX = GX + 2 * R, NY = GY + 2 * R, K = 2 * R + 1;
  const dX = K + NX * NY + NY * GX, dY = dX + GX * GY;
  const cx = fr((W - 1) * 0.5), cy = fr((H - 1) * 0.5);
  const k = fr(alpha * 0.25);
  const elastic = alpha !== 0;
  const at = (s: number, x: number, y: number) => (x >= 0 && x < W && y >= 0 && y < H ? src[s + y * W + x] : 0);
  for (let b = 0; b < B; b++) {
    const s = idx[b] * C, o = b * C, pp = b * 4;
    const rowSeed = hash(b, 0x2545f491, seed);
    if (random) {
      params[pp] = fr(shift * uniform(0, stream, rowSeed));
      params[pp + 1] = fr(shift * uniform(1, stream, rowSeed));
      params[pp + 2] = fr(rotate * uniform(2, stream, rowSeed));
      params[pp + 3] = fr(1 + fr(scaleRange * uniform(3, stream, rowSeed)));
    }
    const tx = params[pp], ty = params[pp + 1], ang = params[pp + 2], sc = params[pp + 3];
    const a2 = fr(ang * ang);
    let t = fr(1 - fr(a2 * C72));
    t = fr(1 - fr(fr(a2 * C42) * t));
    t = fr(1 - fr(fr(a2 * C20) * t));
    t = fr(1 - fr(fr(a2 * C6) * t));
    const sn = fr(ang * t);
    let u = fr(1 - fr(a2 * C56));
    u = fr(1 - fr(fr(a2 * C30) * u));
    u = fr(1 - fr(fr(a2 * C12) * u));
    const cs = fr(1 - fr(fr(a2 * 0.5) * u));
    const inv = fr(1 / sc);
    if (elastic) {
      smooth(field, dX, stream, rowSeed, 16, R, GX, GY);
      smooth(field, dY, stream, rowSeed, 16 + NX * NY, R, GX, GY);
    }
    for (let y = 0; y < H; y++) {
      const v = fr(fr(y - cy) - ty);
      for (let x = 0; x < W; x++) {
        const uu = fr(fr(x - cx) - tx);
        let sx = fr(cx + fr(fr(fr(cs * uu) + fr(sn * v)) * inv));
        let sy = fr(cy + fr(fr(fr(cs * v) - fr(sn * uu)) * inv));
        if (elastic) {
          sx = fr(sx + fr(k * coarse(field, dX, GX, x, y)));
          sy = fr(sy + fr(k * coarse(field, dY, GX, x, y)));
        }
        let val = 0;
        if (sx > -1 && sx < W && sy > -1 && sy < H) {
          const x0 = Math.floor(sx), y0 = Math.floor(sy);
          const fx = fr(sx - x0), fy = fr(sy - y0);
          const p00 = at(s, x0, y0), p10 = at(s, x0 + 1, y0), p01 = at(s, x0, y0 + 1), p11 = at(s, x0 + 1, y0 + 1);
          const top = fr(p00 + fr(fx * (p10 - p00)));
          const bot = fr(p01 + fr(fx * (p11 - p01)));
          val = fr(top + fr(fy * fr(bot - top)));
        }
        out[o + y * W + x] = Math.min(255, Math.max(0, Math.trunc(fr(val + 0.5))));
      }
    }
  }
}
