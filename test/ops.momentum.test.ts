/**
 * SGD and momentum in f32, bit for bit: every wasm build's sgd_update and momentum_update equal an
 * f32 model of the one general formula of each (SGD: p -= lr * (g0 + wd * p); momentum:
 * g = g0 + wd * p; v = mu * v + g, flushed below 1e-30; p -= lr * (cg * g + cv * v)) on awkward
 * lengths and values (signed zeros, values at the flush, weights whose step overflows). The SIMD
 * build takes shorter paths without weight decay (sgdPlainVec, and momentumPlainVec for plain
 * momentum; the fused first-layer step uses them too, and test/fused.test.ts ties it to these
 * updates): this test fails if they ever leave a different bit than the general formula.
 */
import { describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Rng } from '../src/core/rng.js';
import { sameBits } from './helpers/bits.js';

const f = Math.fround;
const TINY = f(1e-30);

/** the SIMD kernel's general lane arithmetic (momentumVec), one f32 rounding per operation */
function model(p: Float32Array, g0: Float32Array, v: Float32Array, lr64: number, mu64: number, wd64: number, nesterov: number): number {
  const lr = f(lr64), mu = f(mu64), wd = f(wd64), cg = nesterov ? 1 : 0, cv = nesterov ? mu : 1;
  let kept = 0;
  for (let i = 0; i < p.length; i++) {
    const g = f(g0[i] + f(wd * p[i]));
    let vi = f(f(mu * v[i]) + g);
    if (!(Math.abs(vi) >= TINY)) vi = 0;
    const np = f(p[i] - f(lr * f(f(cg * g) + f(cv * vi))));
    if (!Number.isFinite(np)) {
      kept++;
      continue;
    }
    v[i] = vi;
    p[i] = np;
  }
  return kept;
}

/** the SIMD kernel's general SGD lane arithmetic (sgdVec) */
function sgdModel(p: Float32Array, g0: Float32Array, lr64: number, wd64: number): number {
  const lr = f(lr64), wd = f(wd64);
  let kept = 0;
  for (let i = 0; i < p.length; i++) {
    const np = f(p[i] - f(lr * f(g0[i] + f(wd * p[i]))));
    if (Number.isFinite(np)) p[i] = np;
    else kept++;
  }
  return kept;
}

/** values a step meets at the edges: zeros of both signs, values either side of the flush, huge ones */
const EDGES = [0, -0, 1e-30, -1e-30, 2e-30, -9e-31, 1e-38, 3e38, -3e38, 1, -1];

describe('sgd_update and momentum_update bit for bit', () => {
  for (const variant of ['simd', 'scalar', 'debug'] as const) {
    it(`wasm ${variant} equals the f32 formulas (SGD; momentum plain and Nesterov; with and without weight decay; lengths 1..1027)`, async () => {
      const w = await WasmBackend.create(variant);
      const rng = new Rng(17);
      let keptCases = 0;
      const pick = (i: number, k: number) => (rng.float() < 0.35 ? EDGES[(i * k + (rng.float() * EDGES.length) | 0) % EDGES.length] : (rng.float() - 0.5) * 4);
      for (const N of [1, 3, 4, 5, 10, 17, 784, 1027]) {
        const p0 = Float32Array.from({ length: N }, (_, i) => pick(i, 3));
        const g = Float32Array.from({ length: N }, (_, i) => pick(i, 5));
        const v0 = Float32Array.from({ length: N }, (_, i) => pick(i, 7));
        for (const [lr, wd] of [[0.1, 0], [2e38, 0], [0.1, 0.05]]) {
          const P = w.alloc('f32', N), G = w.alloc('f32', N);
          w.write(P, p0);
          w.write(G, g);
          const got = w.sgd_update(P, G, N, lr, wd);
          const wantP = p0.slice();
          const kept = sgdModel(wantP, g, lr, wd);
          const label = `${variant} sgd N=${N} lr=${lr} wd=${wd}`;
          expect(got, label).toBe(kept ? -kept : 0);
          if (kept) keptCases++;
          expect(sameBits(w.read(P), wantP), `${label} params`).toBe(true);
        }
        for (const [lr, mu, wd, nesterov] of [[0.05, 0.9, 0, 0], [2, 0.9, 0, 0], [0.05, 0.9, 0, 1], [0.01, 0.5, 0.05, 0], [0.01, 0.9, 1e-4, 1]]) {
          const P = w.alloc('f32', N), G = w.alloc('f32', N), V = w.alloc('f32', N);
          w.write(P, p0);
          w.write(G, g);
          w.write(V, v0);
          const got = w.momentum_update(P, G, V, N, lr, mu, wd, nesterov);
          const wantP = p0.slice(), wantV = v0.slice();
          const kept = model(wantP, g, wantV, lr, mu, wd, nesterov);
          const label = `${variant} N=${N} lr=${lr} mu=${mu} wd=${wd} nesterov=${nesterov}`;
          expect(got, label).toBe(kept ? -kept : 0);
          if (kept) keptCases++;
          expect(sameBits(w.read(P), wantP), `${label} params`).toBe(true);
          expect(sameBits(w.read(V), wantV), `${label} velocity`).toBe(true);
        }
      }
      expect(keptCases, 'cases where a weight was kept').toBeGreaterThan(3);
    });
  }
});
