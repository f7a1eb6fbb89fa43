/**
 * Conformance: every op of every WASM build (simd, scalar, debug) against the TS reference, on
 * seeded random inputs and shapes at, below, above and off the SIMD tiles (4 x 8 for matmul, f32x4
 * and 8-wide loops elsewhere). Outputs that ops overwrite start as garbage and carry a guard pad,
 * so unwritten elements and overruns both fail. On failure: max difference and first bad index.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Activation, type DType, type Tensor, type TypedArrayOf } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend, loadWasmModule, simdSupported } from '../src/backends/wasm/index.js';
import { SimdnetError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

const VARIANTS = ['simd', 'scalar', 'debug'] as const;
const Bs = [1, 3, 5, 17, 64];
const Cs = [1, 3, 5, 10, 17, 256, 784]; // 256 = one forward C-block (KC), 784 = 3 blocks + 16
const OCs = [1, 3, 5, 8, 10, 17, 64];
const Ns = [1, 3, 4, 5, 7, 8, 9, 17, 1000];
const Vs = [1, 3, 10, 17];
const GUARD = 8;
const SENTINEL = -12345.5;

// ---- comparison -------------------------------------------------------------------------------
interface Tol {
  /** relative tolerance */
  rtol: number;
  /** absolute floor */
  atol?: number;
  /** 'max': relative to max |want| over the array (sums); 'elem': relative to each |want| */
  scale?: 'max' | 'elem';
}

function assertClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol): void {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length} != ${want.length}`);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  const atol = tol.atol ?? 0;
  let maxDiff = 0, maxAt = -1, bad = -1, badTol = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    const d = Math.abs(g - w);
    const t = tol.rtol * (tol.scale === 'max' ? maxAbs : Math.abs(w)) + atol;
    if (d > maxDiff || Number.isNaN(d)) (maxDiff = d), (maxAt = i);
    if (!(d <= t) && bad < 0) (bad = i), (badTol = t);
  }
  if (bad >= 0) {
    throw new Error(
      `${label}: max |diff| ${maxDiff.toExponential(3)} at ${maxAt} (got ${got[maxAt]}, want ${want[maxAt]}); ` +
        `first bad index ${bad}: got ${got[bad]}, want ${want[bad]}, tol ${badTol.toExponential(3)} (max |want| ${maxAbs.toExponential(3)})`,
    );
  }
}

function assertEqualArrays(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assertClose(label, got, want, { rtol: 0 });
}

// ---- paired tensors ---------------------------------------------------------------------------
const f32round = (x: number) => Math.fround(x);

class Pair {
  readonly ts = new TsBackend();
  constructor(readonly w: WasmBackend, readonly rng: Rng) {}

  /** the same values in both backends */
  input<D extends DType>(dtype: D, values: ArrayLike<number>): { ts: Tensor<D>; w: Tensor<D> } {
    const ts = this.ts.alloc(dtype, values.length);
    const w = this.w.alloc(dtype, values.length);
    this.ts.write(ts, values);
    this.w.write(w, values);
    return { ts, w };
  }

  /** an output the op must overwrite: garbage in both (different garbage), plus a guard pad in wasm */
  output<D extends DType>(dtype: D, length: number): { ts: Tensor<D>; w: Tensor<D>; check: (label: string) => void } {
    const ts = this.ts.alloc(dtype, length);
    this.ts.write(ts, Array.from({ length }, () => 777));
    const whole = this.w.alloc(dtype, length + GUARD);
    const fillValue = dtype === 'f32' ? NaN : 0x5a;
    this.w.write(whole, new Array(length).fill(fillValue));
    const pad = new Array(GUARD).fill(dtype === 'f32' ? SENTINEL : 99);
    this.w.write(whole, pad, length);
    const w = this.w.slice(whole, 0, length);
    const check = (label: string) => {
      const after = Array.from(this.w.read(this.w.slice(whole, length, GUARD)));
      assertEqualArrays(`${label} (guard pad after the output)`, after, pad);
    };
    return { ts, w, check };
  }

  rand(n: number, lo = -1, hi = 1): number[] {
    return Array.from({ length: n }, () => f32round(lo + (hi - lo) * this.rng.float()));
  }
  ints(n: number, below: number): number[] {
    return Array.from({ length: n }, () => Math.floor(this.rng.float() * below));
  }
  readBoth<D extends DType>(t: { ts: Tensor<D>; w: Tensor<D> }): [TypedArrayOf<D>, TypedArrayOf<D>] {
    return [this.w.read(t.w), this.ts.read(t.ts)];
  }
}

/** run `body` with a fresh Pair, releasing the wasm allocations afterwards */
function withPair(w: WasmBackend, seed: number, body: (p: Pair) => void): void {
  const m = w.mark();
  try {
    body(new Pair(w, new Rng(seed)));
  } finally {
    w.release(m);
  }
}

const MATMUL_TOL: Tol = { rtol: 1e-5, scale: 'max', atol: 1e-6 };
const ELEM_TOL: Tol = { rtol: 1e-6, atol: 1e-37 };

/** a loss head's forward on both backends: probabilities and loss equal bit for bit (NaN equal to NaN) */
function expectHeadExact(p: Pair, head: 'softmax_xent_forward' | 'sigmoid_mse_forward', logitValues: number[], labelValues: number[], V: number, label: string): void {
  const B = labelValues.length;
  const logits = p.input('f32', logitValues);
  const labels = p.input('i32', labelValues);
  const probs = p.output('f32', B * V);
  const lt = p.ts[head](probs.ts, logits.ts, labels.ts, B, V);
  const lw = p.w[head](probs.w, logits.w, labels.w, B, V);
  assertEqualArrays(`${label} probs`, ...p.readBoth(probs));
  probs.check(`${label} probs`);
  expect(Object.is(lw, lt) || (Number.isNaN(lw) && Number.isNaN(lt)), `${label} loss ${lw} vs ${lt}`).toBe(true);
}

describe.each(VARIANTS)('wasm %s build', (variant) => {
  let w: WasmBackend;
  beforeAll(async () => {
    w = await WasmBackend.create(variant);
  });

  it('reports its name and a 16-byte aligned heap', () => {
    expect(w.name).toBe(variant === 'scalar' ? 'wasm-scalar' : 'wasm-simd');
    const t = w.alloc('u8', 3);
    const u = w.alloc('f32', 5);
    expect(t.byteOffset % 16).toBe(0);
    expect(u.byteOffset % 16).toBe(0);
    expect(u.byteOffset).toBeGreaterThanOrEqual(t.byteOffset + 16);
  });

  it.each(Bs)('matmul_forward B=%i over all C x OC, with and without bias', (B) => {
    for (const C of Cs) {
      for (const OC of OCs) {
        for (const withBias of [true, false]) {
          withPair(w, B * 1e6 + C * 1e3 + OC, (p) => {
            const inp = p.input('f32', p.rand(B * C));
            const weight = p.input('f32', p.rand(C * OC));
            const bias = withBias ? p.input('f32', p.rand(OC)) : null;
            const out = p.output('f32', B * OC);
            p.ts.matmul_forward(out.ts, inp.ts, weight.ts, bias && bias.ts, B, C, OC);
            p.w.matmul_forward(out.w, inp.w, weight.w, bias && bias.w, B, C, OC);
            const label = `matmul_forward B=${B} C=${C} OC=${OC} bias=${withBias}`;
            assertClose(label, ...p.readBoth(out), MATMUL_TOL);
            out.check(label);
          });
        }
      }
    }
  });

  function checkMatmulBackward(B: number, C: number, OC: number, nulls: boolean): void {
    withPair(w, 7 + B * 1e6 + C * 1e3 + OC, (p) => {
      const dout = p.input('f32', p.rand(B * OC));
      const inp = p.input('f32', p.rand(B * C));
      const weight = p.input('f32', p.rand(C * OC));
      const dweight = p.input('f32', p.rand(C * OC)); // accumulated into
      const dbias = nulls ? null : p.input('f32', p.rand(OC));
      const dinp = nulls ? null : p.output('f32', B * C);
      p.ts.matmul_backward(dinp && dinp.ts, dweight.ts, dbias && dbias.ts, dout.ts, inp.ts, weight.ts, B, C, OC);
      p.w.matmul_backward(dinp && dinp.w, dweight.w, dbias && dbias.w, dout.w, inp.w, weight.w, B, C, OC);
      const label = `matmul_backward B=${B} C=${C} OC=${OC}${nulls ? ' (dinp, dbias null)' : ''}`;
      assertClose(`${label} dweight`, ...p.readBoth(dweight), MATMUL_TOL);
      if (dinp) {
        assertClose(`${label} dinp`, ...p.readBoth(dinp), MATMUL_TOL);
        dinp.check(`${label} dinp`);
      }
      if (dbias) assertClose(`${label} dbias`, ...p.readBoth(dbias), MATMUL_TOL);
    });
  }

  it.each(Bs)('matmul_backward B=%i over all C x OC (dinp, dweight, dbias; nullable ones null too)', (B) => {
    for (const C of Cs) for (const OC of OCs) for (const nulls of [false, true]) checkMatmulBackward(B, C, OC, nulls);
  });

  it('matmul_backward on narrow layers past the transposed-weight scratch (dot-product fallback) and at its edge', () => {
    for (const [B, C, OC] of [[5, 1700, 10], [3, 600, 31], [4, 520, 32], [6, 1638, 10], [2, 1639, 10]]) checkMatmulBackward(B, C, OC, false);
  });

  const ACTS = Object.entries(Activation) as [string, number][];
  it.each(ACTS)('activation_forward / activation_backward %s over N, separate and in place', (actName, act) => {
    for (const N of Ns) {
      for (const inPlace of [false, true]) {
        withPair(w, 31 * N + act + (inPlace ? 1000 : 0), (p) => {
          const xs = p.rand(N, -8, 8);
          const specials = [0, -0, 1e-8, -1e-8, 30, -30, 100, -100, 0.5, -0.5];
          for (let i = 0; i < Math.min(N, specials.length) && N >= 100; i++) xs[i] = specials[i];
          const label = `${actName} N=${N}${inPlace ? ' in place' : ''}`;
          // forward
          const inp = p.input('f32', xs);
          const out = inPlace ? { ...inp, check: () => {} } : p.output('f32', N);
          p.ts.activation_forward(out.ts, inp.ts, N, act);
          p.w.activation_forward(out.w, inp.w, N, act);
          assertClose(`${label} forward`, ...p.readBoth(out), ELEM_TOL);
          out.check(`${label} forward`);
          // backward from the reference forward output
          const y = p.input('f32', Array.from(p.ts.read(out.ts)));
          const dout = p.input('f32', p.rand(N));
          const dinp = inPlace ? { ...dout, check: () => {} } : p.output('f32', N);
          p.ts.activation_backward(dinp.ts, dout.ts, y.ts, N, act);
          p.w.activation_backward(dinp.w, dout.w, y.w, N, act);
          assertClose(`${label} backward`, ...p.readBoth(dinp), ELEM_TOL);
          dinp.check(`${label} backward`);
        });
      }
    }
  });

  // exp and log are fdlibm's in both (V8's Math.exp / Math.log; assembly/fdlibm.ts): bit for bit
  it('softmax_xent forward (probs, loss) and backward over B x V: equal to the reference bit for bit', () => {
    for (const B of Bs) {
      for (const V of Vs) {
        for (const range of [0.3, 10, 200, 1000]) {
          withPair(w, B * 100 + V + range, (p) => {
            const logits = p.input('f32', p.rand(B * V, -range, range));
            const labels = p.input('i32', p.ints(B, V));
            const probs = p.output('f32', B * V);
            const lt = p.ts.softmax_xent_forward(probs.ts, logits.ts, labels.ts, B, V);
            const lw = p.w.softmax_xent_forward(probs.w, logits.w, labels.w, B, V);
            const label = `softmax_xent B=${B} V=${V} range=${range}`;
            assertEqualArrays(`${label} probs`, ...p.readBoth(probs));
            probs.check(`${label} probs`);
            expect(lw, `${label} loss`).toBe(lt);
            const dlogits = p.output('f32', B * V);
            p.ts.softmax_xent_backward(dlogits.ts, probs.ts, labels.ts, B, V, 1 / B);
            p.w.softmax_xent_backward(dlogits.w, probs.w, labels.w, B, V, 1 / B);
            assertEqualArrays(`${label} dlogits`, ...p.readBoth(dlogits));
            dlogits.check(`${label} dlogits`);
          });
        }
      }
    }
  });

  it('softmax_xent forward at the edges of exp: every branch of fdlibm, subnormal and zero terms, infinities and NaN', () => {
    // differences from the row's max that land in each of fdlibm's cases: |d| < 2^-28, <= ln2 / 2,
    // < 1.5 ln2, general, subnormal results (-745 < d < -708), zero (d < -745), plus non-finite rows
    const rows: number[][] = [
      [0, -(2 ** -30), -(2 ** -28), -0.3465, -0.3466, -0.34657359, -1.0397, -1.0398, -2.5, -20],
      [5, 5 - 3e-9, 4.6534, 4.65342641, 3.9603, 2.5, -3, -700, -703.5, -710],
      [100, -609, -610, -620, -640, -644, -645, -646, -700, 33],
      [-1e30, 1e30, 0, -0, 1, -1, 3.4e38, -3.4e38, 7, 8],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [-Infinity, 0, 1, 2, 3, 4, 5, 6, 7, 8],
      [Infinity, 0, 1, 2, 3, 4, 5, 6, 7, 8],
      [NaN, 0, 1, 2, 3, 4, 5, 6, 7, 8],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    ];
    for (const V of [10, 9, 1]) {
      withPair(w, 7 + V, (p) => {
        expectHeadExact(p, 'softmax_xent_forward', rows.flatMap((r) => r.slice(0, V)), rows.map((_, i) => (i * 3) % V), V, `V=${V}`);
        // and each finite row alone: its loss exactly, where the sum of all rows could hide one
        for (let b = 0; b < 5; b++) expectHeadExact(p, 'softmax_xent_forward', rows[b].slice(0, V), [b % V], V, `row ${b} V=${V}`);
      });
    }
  });

  it('sigmoid_mse forward at the edges of exp: both signs of every fdlibm branch, overflow, subnormal, infinities and NaN', () => {
    const xs = [0, -0, 2 ** -30, -(2 ** -30), 0.3465, -0.3466, 0.34657359, 1.0397, -1.0398, 2.5, -20, 80, -80, 700, -700,
      709.089, -709.09, 709.7, -709.79, 710, -710, 740, -745, 746, -746, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1e-40, -1e-40];
    for (const V of [2, 3, 10]) {
      withPair(w, 11 + V, (p) => {
        const B = Math.ceil(xs.length / V);
        expectHeadExact(p, 'sigmoid_mse_forward', Array.from({ length: B * V }, (_, i) => xs[i % xs.length]), Array.from({ length: B }, (_, i) => i % V), V, `V=${V}`);
      });
    }
  });

  it('sigmoid_mse forward (probs, loss) and backward over B x V: equal to the reference bit for bit', () => {
    for (const B of Bs) {
      for (const V of Vs) {
        withPair(w, 5 + B * 100 + V, (p) => {
          const logits = p.input('f32', p.rand(B * V, -12, 12));
          const labels = p.input('i32', p.ints(B, V));
          const probs = p.output('f32', B * V);
          const lt = p.ts.sigmoid_mse_forward(probs.ts, logits.ts, labels.ts, B, V);
          const lw = p.w.sigmoid_mse_forward(probs.w, logits.w, labels.w, B, V);
          const label = `sigmoid_mse B=${B} V=${V}`;
          assertEqualArrays(`${label} probs`, ...p.readBoth(probs));
          probs.check(`${label} probs`);
          expect(lw, `${label} loss`).toBe(lt);
          const dlogits = p.output('f32', B * V);
          p.ts.sigmoid_mse_backward(dlogits.ts, probs.ts, labels.ts, B, V, 0.5);
          p.w.sigmoid_mse_backward(dlogits.w, probs.w, labels.w, B, V, 0.5);
          assertEqualArrays(`${label} dlogits`, ...p.readBoth(dlogits));
          dlogits.check(`${label} dlogits`);
        });
      }
    }
  });

  it('argmax_rows with ties (first maximum wins), with and without labels', () => {
    for (const B of Bs) {
      for (const V of Vs) {
        withPair(w, 9 + B * 100 + V, (p) => {
          const scores = p.input('f32', p.ints(B * V, 3)); // few distinct values: many ties
          const labels = p.input('i32', p.ints(B, V));
          for (const withLabels of [true, false]) {
            const out = p.output('i32', B);
            const ct = p.ts.argmax_rows(out.ts, scores.ts, withLabels ? labels.ts : null, B, V);
            const cw = p.w.argmax_rows(out.w, scores.w, withLabels ? labels.w : null, B, V);
            const label = `argmax_rows B=${B} V=${V} labels=${withLabels}`;
            assertEqualArrays(label, ...p.readBoth(out));
            out.check(label);
            expect(cw, `${label} count`).toBe(ct);
          }
        });
      }
    }
  });

  it('sgd_update, momentum_update (plain, nesterov), adam_update (adam, adamw) over N', () => {
    const OPT_TOL: Tol = { rtol: 1e-6, scale: 'max' };
    for (const N of Ns) {
      for (const wd of [0, 0.05]) {
        withPair(w, 11 * N + (wd ? 1 : 0), (p) => {
          const label = `N=${N} wd=${wd}`;
          const params0 = p.rand(N);
          const grads = p.input('f32', p.rand(N));
          {
            const params = p.input('f32', params0);
            p.ts.sgd_update(params.ts, grads.ts, N, 0.1, wd);
            p.w.sgd_update(params.w, grads.w, N, 0.1, wd);
            assertClose(`sgd ${label} params`, ...p.readBoth(params), OPT_TOL);
          }
          for (const nesterov of [0, 1]) {
            const params = p.input('f32', params0);
            const vel = p.input('f32', p.rand(N));
            p.ts.momentum_update(params.ts, grads.ts, vel.ts, N, 0.05, 0.9, wd, nesterov);
            p.w.momentum_update(params.w, grads.w, vel.w, N, 0.05, 0.9, wd, nesterov);
            assertClose(`momentum ${label} nesterov=${nesterov} params`, ...p.readBoth(params), OPT_TOL);
            assertClose(`momentum ${label} nesterov=${nesterov} vel`, ...p.readBoth(vel), OPT_TOL);
          }
          for (const decoupled of [0, 1]) {
            const params = p.input('f32', params0);
            const m = p.input('f32', p.rand(N, -0.1, 0.1));
            const v = p.input('f32', p.rand(N, 0, 0.01));
            const t = 3, b1 = 0.9, b2 = 0.999;
            const args = [N, 0.001, b1, b2, 1e-8, wd, decoupled, 1 - b1 ** t, 1 - b2 ** t] as const;
            p.ts.adam_update(params.ts, grads.ts, m.ts, v.ts, ...args);
            p.w.adam_update(params.w, grads.w, m.w, v.w, ...args);
            assertClose(`adam ${label} decoupled=${decoupled} params`, ...p.readBoth(params), OPT_TOL);
            assertClose(`adam ${label} decoupled=${decoupled} m`, ...p.readBoth(m), OPT_TOL);
            assertClose(`adam ${label} decoupled=${decoupled} v`, ...p.readBoth(v), OPT_TOL);
          }
        });
      }
    }
  });

  it('the updates guard against divergence: NaN/Inf gradients change nothing, overflowing elements keep their values', () => {
    for (const N of [1, 3, 4, 5, 9, 17, 1000]) {
      withPair(w, 19 * N, (p) => {
        const params0 = p.rand(N);
        const grads0 = p.rand(N);
        // a NaN or Inf gradient anywhere: every update returns the count and writes nothing
        for (const bad of [NaN, Infinity]) {
          const g = grads0.slice();
          g[N >> 1] = bad;
          const grads = p.input('f32', g);
          const params = p.input('f32', params0), s1 = p.input('f32', p.rand(N)), s2 = p.input('f32', p.rand(N, 0, 1));
          const before = [...p.readBoth(params), ...p.readBoth(s1), ...p.readBoth(s2)].map((a) => Float32Array.from(a));
          for (const be of ['ts', 'w'] as const) {
            expect(p[be].sgd_update(params[be], grads[be], N, 0.1, 0)).toBe(1);
            expect(p[be].momentum_update(params[be], grads[be], s1[be], N, 0.1, 0.9, 0, 1)).toBe(1);
            expect(p[be].adam_update(params[be], grads[be], s1[be], s2[be], N, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0.1, 0.001)).toBe(1);
          }
          const after = [...p.readBoth(params), ...p.readBoth(s1), ...p.readBoth(s2)];
          after.forEach((a, i) => assertEqualArrays(`N=${N} grad ${bad} unchanged ${i}`, a, before[i]));
        }
        // weights near the top of f32 whose step overflows: those keep weight and state, the rest update
        const big = params0.slice();
        for (let i = 0; i < N; i += 3) big[i] = 3.3e38 * Math.sign(grads0[i] || 1) * -1;
        const grads = p.input('f32', grads0.map((x) => x * 1e3));
        const params = p.input('f32', big), vel = p.input('f32', p.rand(N));
        const lr = 1e35;
        const gs = p.ts.sgd_update(params.ts, grads.ts, N, lr, 0), gw = p.w.sgd_update(params.w, grads.w, N, lr, 0);
        expect(gw).toBe(gs);
        expect(gs).toBeLessThan(0);
        assertClose(`N=${N} sgd overflow params`, ...p.readBoth(params), { rtol: 1e-6, scale: 'max' });
        const [pw, pt] = p.readBoth(params);
        let kept = 0;
        for (let i = 0; i < N; i++) {
          if (pt[i] === Math.fround(big[i]) || pw[i] === Math.fround(big[i])) expect(pw[i], `N=${N} kept ${i}`).toBe(pt[i]);
          if (pt[i] === Math.fround(big[i]) && Math.abs(pt[i]) > 1e38) kept++;
        }
        expect(kept, `N=${N}: the elements kept are the ones counted`).toBe(-gs);
        const params2 = p.input('f32', big);
        const ms = p.ts.momentum_update(params2.ts, grads.ts, vel.ts, N, lr, 0.9, 0, 0), mw = p.w.momentum_update(params2.w, grads.w, vel.w, N, lr, 0.9, 0, 0);
        expect(mw).toBe(ms);
        expect(ms).toBeLessThan(0);
        assertClose(`N=${N} momentum overflow params`, ...p.readBoth(params2), { rtol: 1e-6, scale: 'max' });
        assertClose(`N=${N} momentum overflow vel`, ...p.readBoth(vel), { rtol: 1e-6, scale: 'max' });
        for (const a of p.readBoth(params2)) expect(a.every((x) => Number.isFinite(x))).toBe(true);
      });
    }
  });

  it('count_nonfinite counts NaN and +-Inf at every position, tile edge and tail', () => {
    for (const N of [1, 3, 4, 5, 7, 8, 9, 17, 1000]) {
      withPair(w, 17 * N, (p) => {
        const x = p.rand(N);
        const t = p.input('f32', x);
        expect(p.ts.count_nonfinite(t.ts, N)).toBe(0);
        expect(p.w.count_nonfinite(t.w, N), `N=${N} all finite`).toBe(0);
        const bad = [NaN, Infinity, -Infinity];
        for (let i = 0; i < N; i += Math.max(1, N >> 3)) {
          const y = x.slice();
          y[i] = bad[i % 3];
          if (i + 2 < N) y[i + 2] = 3.4e38; // finite, near the top of f32
          const u = p.input('f32', y);
          expect(p.ts.count_nonfinite(u.ts, N)).toBe(1);
          expect(p.w.count_nonfinite(u.w, N), `N=${N} bad at ${i}`).toBe(1);
        }
      });
    }
  });

  it('fill, gather_rows_u8 (u8 -> f32 * scale) and gather_u8 over B x C', () => {
    for (const N of Ns) {
      withPair(w, 13 * N, (p) => {
        const out = p.output('f32', N);
        p.ts.fill(out.ts, N, -0.25);
        p.w.fill(out.w, N, -0.25);
        assertEqualArrays(`fill N=${N}`, ...p.readBoth(out));
        out.check(`fill N=${N}`);
      });
    }
    const ROWS = 7;
    for (const B of Bs) {
      for (const C of [1, 3, 5, 8, 9, 16, 17, 784]) {
        withPair(w, 17 * B + C, (p) => {
          const src = p.input('u8', p.ints(ROWS * C, 256));
          const idx = p.input('i32', p.ints(B, ROWS));
          const out = p.output('f32', B * C);
          p.ts.gather_rows_u8(out.ts, src.ts, idx.ts, B, C, 1 / 255);
          p.w.gather_rows_u8(out.w, src.w, idx.w, B, C, 1 / 255);
          const label = `gather_rows_u8 B=${B} C=${C}`;
          assertClose(label, ...p.readBoth(out), ELEM_TOL);
          out.check(label);
          const labelsSrc = p.input('u8', p.ints(ROWS, 10));
          const lab = p.output('i32', B);
          p.ts.gather_u8(lab.ts, labelsSrc.ts, idx.ts, B);
          p.w.gather_u8(lab.w, labelsSrc.w, idx.w, B);
          assertEqualArrays(`gather_u8 B=${B}`, ...p.readBoth(lab));
          lab.check(`gather_u8 B=${B}`);
        });
      }
    }
  });
});

// label smoothing (e > 0) on every build, threads' too: the smoothed loss and target t = (1 - e) onehot + e / V,
// bit for bit; e = 0 is the loop above. Awkward shapes: V = 2 (one SIMD pair), odd V, B past 128
describe.each([...VARIANTS, 'threads'] as const)('softmax_xent with label smoothing: wasm %s build', (variant) => {
  let w: WasmBackend;
  beforeAll(async () => {
    w = await WasmBackend.create(variant);
  });

  it('forward (probs, loss) and backward over B x V with e in {0.1, 1/3, 0.05, 0.999}: equal to the reference bit for bit', () => {
    for (const B of [1, 7, 129]) {
      for (const V of [2, 3, 10, 17]) {
        for (const e of [0.1, 1 / 3, 0.05, 0.999]) {
          for (const range of [0.3, 10, 200]) {
            withPair(w, B * 1000 + V * 10 + range, (p) => {
              const logits = p.input('f32', p.rand(B * V, -range, range));
              const labels = p.input('i32', p.ints(B, V));
              const probs = p.output('f32', B * V);
              const lt = p.ts.softmax_xent_forward(probs.ts, logits.ts, labels.ts, B, V, e);
              const lw = p.w.softmax_xent_forward(probs.w, logits.w, labels.w, B, V, e);
              const label = `softmax_xent B=${B} V=${V} e=${e} range=${range}`;
              assertEqualArrays(`${label} probs`, ...p.readBoth(probs));
              probs.check(`${label} probs`);
              expect(lw, `${label} loss`).toBe(lt);
              // the smoothing is applied: not the plain loss
              expect(lt, `${label} loss differs from e = 0`).not.toBe(p.ts.softmax_xent_forward(p.ts.alloc('f32', B * V), logits.ts, labels.ts, B, V));
              const dlogits = p.output('f32', B * V);
              p.ts.softmax_xent_backward(dlogits.ts, probs.ts, labels.ts, B, V, 1 / B, e);
              p.w.softmax_xent_backward(dlogits.w, probs.w, labels.w, B, V, 1 / B, e);
              assertEqualArrays(`${label} dlogits`, ...p.readBoth(dlogits));
              dlogits.check(`${label} dlogits`);
            });
          }
        }
      }
    }
  });

  it('forward at the edges of exp with e = 0.1: huge, subnormal and zero terms, infinities and NaN', () => {
    const rows: number[][] = [
      [5, 5 - 3e-9, 4.6534, -700, -703.5, -710, 2.5, -3, 0, 1],
      [100, -609, -610, -620, -640, -644, -645, -646, -700, 33],
      [-1e30, 1e30, 0, -0, 1, -1, 3.4e38, -3.4e38, 7, 8],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [-Infinity, 0, 1, 2, 3, 4, 5, 6, 7, 8],
      [NaN, 0, 1, 2, 3, 4, 5, 6, 7, 8],
    ];
    for (const V of [10, 3, 2]) {
      withPair(w, 11 + V, (p) => {
        for (let b = 0; b < rows.length; b++) {
          const logits = p.input('f32', rows[b].slice(0, V));
          const labels = p.input('i32', [b % V]);
          const probs = p.output('f32', V);
          const lt = p.ts.softmax_xent_forward(probs.ts, logits.ts, labels.ts, 1, V, 0.1);
          const lw = p.w.softmax_xent_forward(probs.w, logits.w, labels.w, 1, V, 0.1);
          assertEqualArrays(`row ${b} V=${V} probs`, ...p.readBoth(probs));
          expect(Object.is(lw, lt) || (Number.isNaN(lw) && Number.isNaN(lt)), `row ${b} V=${V} loss ${lw} vs ${lt}`).toBe(true);
        }
      });
    }
  });
});

describe('WasmBackend memory', () => {
  it('two instances do not share memory', async () => {
    const a = await WasmBackend.create('simd');
    const b = await WasmBackend.create('simd');
    expect(a.memory).not.toBe(b.memory);
    const ta = a.alloc('f32', 64);
    const tb = b.alloc('f32', 64);
    expect(ta.byteOffset).toBe(tb.byteOffset); // same plan, different memories
    a.fill(ta, 64, 3);
    expect(Array.from(b.read(tb))).toEqual(new Array(64).fill(0));
    b.write(tb, new Array(64).fill(-1));
    expect(Array.from(a.read(ta))).toEqual(new Array(64).fill(3));
  });

  it('an allocation beyond 4 GiB throws a SimdnetError naming the bytes, without growing', async () => {
    const w = await WasmBackend.create('simd');
    w.alloc('f32', 1000);
    const before = w.memoryBytes();
    const mark = w.mark();
    let err: unknown;
    try {
      w.alloc('f32', 2 ** 30); // 4 GiB of f32 on top of what is there
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimdnetError);
    expect((err as SimdnetError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/4 GiB/);
    expect((err as Error).message).toContain(String(2 ** 32)); // the request itself, in bytes
    expect(w.memoryBytes()).toBe(before);
    expect(w.mark()).toBe(mark);
    expect(() => w.alloc('u8', 2 ** 32)).toThrow(SimdnetError);
    // still usable afterwards
    const t = w.alloc('f32', 4);
    w.fill(t, 4, 1);
    expect(Array.from(w.read(t))).toEqual([1, 1, 1, 1]);
  });

  it('tensor handles survive memory growth; views are remade', async () => {
    const w = await WasmBackend.create('simd');
    const C = 17, OC = 10, B = 3;
    const inp = w.alloc('f32', B * C);
    const weight = w.alloc('f32', C * OC);
    const rng = new Rng(5);
    const xs = Array.from({ length: B * C }, () => Math.fround(rng.float()));
    const ws = Array.from({ length: C * OC }, () => Math.fround(rng.float()));
    w.write(inp, xs);
    w.write(weight, ws);
    const before = w.memoryBytes();
    const big = w.alloc('u8', 64 << 20); // forces memory.grow
    expect(w.memoryBytes()).toBeGreaterThan(before);
    expect(w.memoryBytes()).toBeGreaterThanOrEqual(big.byteOffset + (64 << 20));
    expect(Array.from(w.read(inp))).toEqual(xs);
    expect(Array.from(w.view(weight))).toEqual(ws);
    const out = w.alloc('f32', B * OC); // above the grown region
    w.matmul_forward(out, inp, weight, null, B, C, OC);
    const ts = new TsBackend();
    const [ti, tw, to] = [ts.alloc('f32', B * C), ts.alloc('f32', C * OC), ts.alloc('f32', B * OC)];
    ts.write(ti, xs);
    ts.write(tw, ws);
    ts.matmul_forward(to, ti, tw, null, B, C, OC);
    assertClose('matmul after growth', w.read(out), ts.read(to), MATMUL_TOL);
  });

  it('release() rewinds the bump pointer and re-allocations come back zeroed', async () => {
    const w = await WasmBackend.create('scalar');
    const m = w.mark();
    const t = w.alloc('f32', 100);
    w.fill(t, 100, 9);
    w.release(m);
    const u = w.alloc('f32', 50);
    expect(u.byteOffset).toBe(t.byteOffset);
    expect(Array.from(w.read(u))).toEqual(new Array(50).fill(0));
    const v = w.alloc('i32', 100); // overlaps the rest of the old tensor and fresh memory
    expect(Array.from(w.read(v))).toEqual(new Array(100).fill(0));
    expect(() => w.release(m - 16)).toThrow(RangeError);
  });

  it('re-allocations come back zeroed on the threads build too (its shared memory is zeroed by the fill kernel)', async () => {
    const w = await WasmBackend.createThreaded(2);
    try {
      const m = w.mark();
      const t = w.alloc('f32', 1 << 16);
      w.fill(t, 1 << 16, NaN);
      w.free(w.alloc('f32', 4)); // a hole below the top, then the top lowered
      w.release(m);
      const u = w.alloc('i32', (1 << 16) + 100); // the old tensor, then fresh memory
      expect(w.read(u).every((v) => v === 0)).toBe(true);
    } finally {
      w.close();
    }
  });

  it('free() turns an allocation into a hole that later allocations reuse (smallest fit first, zeroed); holes merge and lower the top', async () => {
    const w = await WasmBackend.create('scalar');
    const m = w.mark();
    const [a, b, c, d] = [w.alloc('f32', 100), w.alloc('f32', 20), w.alloc('f32', 40), w.alloc('u8', 16)];
    w.fill(a, 100, 5);
    w.fill(c, 40, 6);
    w.free(a); // 400 bytes
    w.free(c); // 160 bytes
    expect(w.mark()).toBe(d.byteOffset + 16); // d still holds the top
    const e = w.alloc('f32', 30); // 120 bytes: fits both holes, takes the smaller
    expect(e.byteOffset).toBe(c.byteOffset);
    expect(Array.from(w.read(e))).toEqual(new Array(30).fill(0));
    const f = w.alloc('i32', 100); // 400 bytes: a's hole exactly
    expect(f.byteOffset).toBe(a.byteOffset);
    expect(Array.from(w.read(f))).toEqual(new Array(100).fill(0));
    const g = w.alloc('f32', 100); // no hole left that holds it: on top
    expect(g.byteOffset).toBe(d.byteOffset + 16);
    expect(() => w.free(f)).not.toThrow();
    expect(() => w.free(f)).toThrow(/already free/);
    expect(() => w.free(w.slice(b, 2, 4))).toThrow(RangeError); // not an allocation (misaligned)
    // freeing everything, in any order, merges the holes and brings the top back to the mark
    for (const t of [g, b, e, d]) w.free(t);
    expect(w.mark()).toBe(m);
  });

  it('slice/write/view bounds are checked', async () => {
    const w = await WasmBackend.create('simd');
    const t = w.alloc('i32', 10);
    const s = w.slice(t, 2, 5);
    expect(s.byteOffset).toBe(t.byteOffset + 8);
    w.write(s, [1, 2, 3], 2);
    expect(Array.from(w.read(t))).toEqual([0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
    expect(() => w.slice(t, 8, 3)).toThrow(RangeError);
    expect(() => w.write(s, [1, 2, 3, 4], 2)).toThrow(RangeError);
  });

  it('the debug build turns a kernel assert into an Error naming message and file', async () => {
    const w = await WasmBackend.create('debug');
    const bytes = w.memoryBytes();
    const bogus: Tensor<'f32'> = { dtype: 'f32', length: 100, byteOffset: bytes - 16 };
    expect(() => w.fill(bogus, 100, 1)).toThrow(/simdnet kernel abort: tensor outside memory \(assembly\/data\.ts:\d+/);
    const labels = w.alloc('i32', 2);
    w.write(labels, [0, 7]);
    const z = w.alloc('f32', 2 * 3);
    expect(() => w.softmax_xent_forward(w.alloc('f32', 6), z, labels, 2, 3)).toThrow(/label out of range/);
  });
});

describe('loader', () => {
  it('detects SIMD and loads from the default location, a path and bytes', async () => {
    expect(simdSupported()).toBe(true);
    const a = await loadWasmModule('scalar');
    expect(await loadWasmModule('scalar')).toBe(a); // cached
    const path = new URL('../build/simdnet-scalar.wasm', import.meta.url);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path);
    const fromBytes = await WasmBackend.create('scalar', bytes);
    const fromPath = await WasmBackend.create('scalar', path.pathname);
    for (const w of [fromBytes, fromPath]) {
      const t = w.alloc('f32', 5);
      w.fill(t, 5, 2);
      expect(Array.from(w.read(t))).toEqual([2, 2, 2, 2, 2]);
    }
    await expect(WasmBackend.create('simd', '/nonexistent/simdnet.wasm')).rejects.toThrow(SimdnetError);
  });
});

describe('activations at the edges of the number line', () => {
  it('every build: NaN stays NaN through sigmoid and tanh (as in the TS reference), infinities saturate, tanh keeps -0; tanh within 2 ulp of Math.tanh from 1e-8 to 20', async () => {
    const xs = new Float32Array(4096);
    for (let i = 0; i < xs.length; i++) { const u = (i / xs.length) * 2 - 1; xs[i] = Math.sign(u) * 10 ** (-8 + 9.3 * Math.abs(u)); }
    xs.set([NaN, -NaN, Infinity, -Infinity, 0, -0, 0.625, -0.625]);
    const ulp = (a: number) => { const f = new Float32Array([Math.abs(a)]); new Int32Array(f.buffer)[0]++; return f[0] - Math.abs(a) || 2 ** -149; };
    for (const be of [new TsBackend(), ...(await Promise.all(VARIANTS.map((v) => WasmBackend.create(v))))]) {
      const inp = be.alloc('f32', xs.length + 3), out = be.alloc('f32', xs.length + 3); // + 3: the scalar tail too
      be.write(inp, xs);
      for (const [name, act, ref] of [['sigmoid', Activation.sigmoid, (v: number) => 1 / (1 + Math.exp(-v))], ['tanh', Activation.tanh, Math.tanh]] as const) {
        be.activation_forward(out, inp, xs.length + 3, act);
        const y = be.read(out);
        const label = `${be.name} ${name}`;
        expect(Number.isNaN(y[0]) && Number.isNaN(y[1]), `${label}(NaN)`).toBe(true);
        expect([y[2], y[3]], `${label}(±Infinity)`).toEqual(name === 'tanh' ? [1, -1] : [1, 0]);
        if (name === 'tanh') expect(Object.is(y[5], -0), `${label}(-0)`).toBe(true);
        if (name === 'tanh') {
          let worst = 0;
          for (let i = 8; i < xs.length; i++) worst = Math.max(worst, Math.abs(y[i] - Math.fround(ref(xs[i]))) / ulp(Math.fround(ref(xs[i]))));
          expect(worst, `${label}: max ulp error against Math.tanh`).toBeLessThanOrEqual(2);
        }
        // an element's value does not depend on where a call ends (the SIMD build's tail takes the vector function)
        for (const n of [1, 2, 3, 5, 6, 7]) {
          const part = be.alloc('f32', n);
          be.activation_forward(part, be.slice(inp, 100, n), n, act);
          expect(Array.from(be.read(part)), `${label} over ${n} elements`).toEqual(Array.from(y.subarray(100, 100 + n)));
        }
      }
    }
  });
});
