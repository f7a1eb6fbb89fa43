/**
 * Gradient checks for the pure-TypeScript reference backend (micrograd's idea): every backward op
 * is compared with central finite differences of its forward op, on tiny seeded problems with
 * awkward sizes. For the non-loss ops the scalar objective is L = sum(out * R) for a fixed random
 * R, so dL/dout = R and the op's backward(dout = R) must equal dL/dinput.
 *
 * Storage is float32, so the finite differences are taken carefully:
 *  - the perturbed inputs are rounded to f32 and the denominator is their actual f32 difference;
 *  - the objective is summed in doubles from the f32 outputs (the losses are already doubles);
 *  - the tolerance is relative to the largest gradient entry of the tensor under test (plus a small
 *    per-entry relative part), which is tight enough to catch a transposed index or a missing
 *    factor even when the gradients are small (e.g. scaled by 1/B).
 * Optimizers are checked in closed form against references written out in doubles.
 */
import { describe, expect, it } from 'vitest';
import { Activation, conv2dShape, type Backend, type Tensor } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';

// ---- helpers -------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1) */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi), already rounded to f32 */
function uniform(rand: () => number, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rand()));
}

function f32(be: Backend, values: ArrayLike<number>): Tensor<'f32'> {
  const t = be.alloc('f32', values.length);
  be.write(t, values);
  return t;
}

function i32(be: Backend, values: ArrayLike<number>): Tensor<'i32'> {
  const t = be.alloc('i32', values.length);
  be.write(t, values);
  return t;
}

function u8(be: Backend, values: ArrayLike<number>): Tensor<'u8'> {
  const t = be.alloc('u8', values.length);
  be.write(t, values);
  return t;
}

/** sum(a * b) in doubles */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite differences of `objective` with respect to every element of `x`: each element is
 * set to f32(x+h) and f32(x-h) in turn (then restored), and the actual f32 step is the denominator.
 */
function numericGrad(be: Backend, x: Tensor<'f32'>, objective: () => number, h = 1e-2): Float64Array {
  const base = be.read(x);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = Math.fround(base[i] + h);
    const xm = Math.fround(base[i] - h);
    be.write(x, [xp], i);
    const lp = objective();
    be.write(x, [xm], i);
    const lm = objective();
    be.write(x, [base[i]], i);
    g[i] = (lp - lm) / (xp - xm);
  }
  return g;
}

/**
 * Every |a - n| <= atol * max(1e-3, max|n|) + rtol * max(|a|, |n|). The first term scales with
 * the tensor's largest gradient, so small gradients are not waved through by an absolute floor.
 */
function expectGradClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string, rtol = 1e-2, atol = 2e-3): void {
  expect(analytic.length, `${what}: length`).toBe(numeric.length);
  let scale = 1e-3;
  for (let i = 0; i < numeric.length; i++) scale = Math.max(scale, Math.abs(numeric[i]));
  const bad: string[] = [];
  for (let i = 0; i < numeric.length; i++) {
    const a = analytic[i], n = numeric[i];
    const tol = atol * scale + rtol * Math.max(Math.abs(a), Math.abs(n));
    if (!(Math.abs(a - n) <= tol)) bad.push(`[${i}] analytic ${a} vs numeric ${n}`);
  }
  expect(bad, `${what}: ${bad.length} of ${numeric.length} entries differ`).toEqual([]);
}

/** elementwise closeness for closed-form (non-FD) checks */
function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) bad.push(`[${i}] got ${a}, expected ${e}`);
  }
  expect(bad, what).toEqual([]);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// The backends under test. Only the pure-TS reference here; the WASM backends are compared with
// it elsewhere.
const backends: Array<[string, () => Backend]> = [['ts', () => new TsBackend()]];

// awkward shapes: odd sizes, a 1-row batch, a 1-wide input, sizes around SIMD widths
const MATMUL_SHAPES: Array<[number, number, number]> = [
  [3, 5, 4],
  [1, 7, 3],
  [4, 1, 6],
  [2, 9, 5],
];

describe.each(backends)('gradient checks (%s backend)', (_name, makeBackend) => {
  // ---- matmul ------------------------------------------------------------------------------------
  describe('matmul_backward', () => {
    function setup(B: number, C: number, OC: number, seed: number) {
      const be = makeBackend();
      const rand = mulberry32(seed);
      const inp = f32(be, uniform(rand, B * C));
      const weight = f32(be, uniform(rand, C * OC));
      const bias = f32(be, uniform(rand, OC));
      const R = uniform(rand, B * OC);
      const dout = f32(be, R);
      const out = be.alloc('f32', B * OC);
      const objective = () => {
        be.matmul_forward(out, inp, weight, bias, B, C, OC);
        return dot(be.read(out), R);
      };
      return { be, rand, inp, weight, bias, R, dout, out, objective };
    }

    it.each(MATMUL_SHAPES)('dinp, dweight, dbias match finite differences (B=%i, C=%i, OC=%i)', (B, C, OC) => {
      const { be, inp, weight, bias, dout, objective } = setup(B, C, OC, 1000 + B * 100 + C * 10 + OC);
      const dinp = be.alloc('f32', B * C);
      const dweight = be.alloc('f32', C * OC);
      const dbias = be.alloc('f32', OC);
      be.matmul_backward(dinp, dweight, dbias, dout, inp, weight, B, C, OC);

      expectGradClose(be.read(dinp), numericGrad(be, inp, objective), 'dinp');
      expectGradClose(be.read(dweight), numericGrad(be, weight, objective), 'dweight');
      expectGradClose(be.read(dbias), numericGrad(be, bias, objective), 'dbias');
      // sanity: the problem is not degenerate
      expect(maxAbs(be.read(dweight))).toBeGreaterThan(0.05);
    });

    it('matmul_forward without bias matches the bias-free objective', () => {
      const B = 3, C = 5, OC = 4;
      const { be, inp, weight, R, dout } = setup(B, C, OC, 7);
      const out = be.alloc('f32', B * OC);
      const objective = () => {
        be.matmul_forward(out, inp, weight, null, B, C, OC);
        return dot(be.read(out), R);
      };
      const dinp = be.alloc('f32', B * C);
      const dweight = be.alloc('f32', C * OC);
      be.matmul_backward(dinp, dweight, null, dout, inp, weight, B, C, OC);
      expectGradClose(be.read(dinp), numericGrad(be, inp, objective), 'dinp (no bias)');
      expectGradClose(be.read(dweight), numericGrad(be, weight, objective), 'dweight (no bias)');
    });

    it('accumulates into dweight and dbias, overwrites dinp', () => {
      const B = 3, C = 5, OC = 4;
      const { be, rand, inp, weight, dout } = setup(B, C, OC, 11);
      // reference gradients from fresh (zeroed) buffers
      const dinp0 = be.alloc('f32', B * C);
      const dw0 = be.alloc('f32', C * OC);
      const db0 = be.alloc('f32', OC);
      be.matmul_backward(dinp0, dw0, db0, dout, inp, weight, B, C, OC);
      const gInp = be.read(dinp0), gW = be.read(dw0), gB = be.read(db0);

      // zeroed buffers, called twice: dweight/dbias double, dinp stays a single copy
      const dinp = f32(be, new Array(B * C).fill(123)); // garbage that must be overwritten
      const dw = be.alloc('f32', C * OC);
      const db = be.alloc('f32', OC);
      be.matmul_backward(dinp, dw, db, dout, inp, weight, B, C, OC);
      expectAllClose(be.read(dinp), gInp, 'dinp after one call (garbage overwritten)', 1e-6);
      be.matmul_backward(dinp, dw, db, dout, inp, weight, B, C, OC);
      expectAllClose(be.read(dinp), gInp, 'dinp after two calls (not accumulated)', 1e-6);
      expectAllClose(be.read(dw), Array.from(gW, (x) => 2 * x), 'dweight after two calls', 1e-6);
      expectAllClose(be.read(db), Array.from(gB, (x) => 2 * x), 'dbias after two calls', 1e-6);

      // non-zero starting gradients are added to
      const w0 = uniform(rand, C * OC), b0 = uniform(rand, OC);
      const dw2 = f32(be, w0), db2 = f32(be, b0);
      be.matmul_backward(null, dw2, db2, dout, inp, weight, B, C, OC);
      expectAllClose(be.read(dw2), w0.map((x, i) => x + gW[i]), 'dweight += inp^T . dout', 1e-6);
      expectAllClose(be.read(db2), b0.map((x, i) => x + gB[i]), 'dbias += colsum(dout)', 1e-6);
    });

    it('skips null dinp and dbias and still computes dweight', () => {
      const B = 3, C = 5, OC = 4;
      const { be, inp, weight, bias, dout, objective } = setup(B, C, OC, 13);
      const before = { inp: be.read(inp), weight: be.read(weight), bias: be.read(bias), dout: be.read(dout) };
      const dweight = be.alloc('f32', C * OC);
      expect(() => be.matmul_backward(null, dweight, null, dout, inp, weight, B, C, OC)).not.toThrow();
      // the inputs are untouched
      expect(be.read(inp)).toEqual(before.inp);
      expect(be.read(weight)).toEqual(before.weight);
      expect(be.read(bias)).toEqual(before.bias);
      expect(be.read(dout)).toEqual(before.dout);
      expectGradClose(be.read(dweight), numericGrad(be, weight, objective), 'dweight (null dinp, dbias)');
      // only dinp null / only dbias null
      const dinp = be.alloc('f32', B * C), dw2 = be.alloc('f32', C * OC), db2 = be.alloc('f32', OC);
      be.matmul_backward(dinp, dw2, null, dout, inp, weight, B, C, OC);
      be.matmul_backward(null, be.alloc('f32', C * OC), db2, dout, inp, weight, B, C, OC);
      expectGradClose(be.read(dinp), numericGrad(be, inp, objective), 'dinp (null dbias)');
      expectGradClose(be.read(dw2), be.read(dweight), 'dweight (null dbias)');
      expectGradClose(be.read(db2), numericGrad(be, bias, objective), 'dbias (null dinp)');
    });
  });

  // ---- activations -------------------------------------------------------------------------------
  describe('activation_backward', () => {
    const N = 37; // odd, not a multiple of 4 or 8
    const cases: Array<[string, number, (rand: () => number) => number]> = [
      ['sigmoid', Activation.sigmoid, (r) => -4 + 8 * r()],
      // relu: keep inputs away from the kink at 0 (|x| in [0.1, 2), either sign)
      ['relu', Activation.relu, (r) => (r() < 0.5 ? -1 : 1) * (0.1 + 1.9 * r())],
      ['tanh', Activation.tanh, (r) => -2.5 + 5 * r()],
    ];

    it.each(cases)('%s matches finite differences of activation_forward', (name, act, sample) => {
      const be = makeBackend();
      const rand = mulberry32(2000 + act);
      const x = Array.from({ length: N }, () => Math.fround(sample(rand)));
      const inp = f32(be, x);
      const R = uniform(rand, N);
      const out = be.alloc('f32', N);
      const objective = () => {
        be.activation_forward(out, inp, N, act);
        return dot(be.read(out), R);
      };
      objective();
      const dout = f32(be, R);
      const dinp = be.alloc('f32', N);
      be.activation_backward(dinp, dout, out, N, act);
      const analytic = be.read(dinp);
      expectGradClose(analytic, numericGrad(be, inp, objective, 5e-3), `${name} dinp`);
      if (act === Activation.relu) {
        // exactly R where x > 0 and exactly 0 where x < 0
        expect(Array.from(analytic)).toEqual(x.map((xi, i) => (xi > 0 ? R[i] : 0)));
        expect(x.some((xi) => xi < 0) && x.some((xi) => xi > 0)).toBe(true);
      }
    });

    it.each(cases)('%s: forward may alias inp and backward may alias dout', (_n, act, sample) => {
      const be = makeBackend();
      const rand = mulberry32(3000 + act);
      const x = Array.from({ length: N }, () => Math.fround(sample(rand)));
      const R = uniform(rand, N);
      // separate buffers
      const inp = f32(be, x), out = be.alloc('f32', N), dout = f32(be, R), dinp = be.alloc('f32', N);
      be.activation_forward(out, inp, N, act);
      be.activation_backward(dinp, dout, out, N, act);
      // aliased buffers
      const y = f32(be, x);
      be.activation_forward(y, y, N, act);
      expect(be.read(y)).toEqual(be.read(out));
      const d = f32(be, R);
      be.activation_backward(d, d, y, N, act);
      expect(be.read(d)).toEqual(be.read(dinp));
    });

    it('sigmoid, relu and tanh forward values', () => {
      const be = makeBackend();
      const x = [-2, -0.5, 0, 0.5, 3];
      const inp = f32(be, x), out = be.alloc('f32', x.length);
      const expected: Array<[number, (v: number) => number]> = [
        [Activation.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
        [Activation.relu, (v) => Math.max(0, v)],
        [Activation.tanh, Math.tanh],
      ];
      for (const [act, f] of expected) {
        be.activation_forward(out, inp, x.length, act);
        expectAllClose(be.read(out), x.map(f), `act ${act}`, 1e-6);
      }
    });
  });

  // ---- losses ------------------------------------------------------------------------------------
  describe.each([
    [3, 10],
    [3, 3],
    [5, 7],
    [1, 4],
  ])('losses (B=%i, V=%i)', (B, V) => {
    function setup(seed: number, spread = 3) {
      const be = makeBackend();
      const rand = mulberry32(seed);
      const logits = f32(be, uniform(rand, B * V, -spread, spread));
      const labels = i32(be, Array.from({ length: B }, () => Math.floor(rand() * V)));
      const probs = be.alloc('f32', B * V);
      const scratch = be.alloc('f32', B * V); // probs for the finite-difference evaluations
      return { be, rand, logits, labels, probs, scratch };
    }

    it('softmax_xent_backward (scale 1/B) matches finite differences of loss/B', () => {
      const { be, logits, labels, probs, scratch } = setup(4000 + B * 10 + V);
      be.softmax_xent_forward(probs, logits, labels, B, V);
      const dlogits = be.alloc('f32', B * V);
      be.softmax_xent_backward(dlogits, probs, labels, B, V, 1 / B);
      const numeric = numericGrad(be, logits, () => be.softmax_xent_forward(scratch, logits, labels, B, V) / B);
      expectGradClose(be.read(dlogits), numeric, 'dlogits');
      // each row of the gradient sums to 0
      const d = be.read(dlogits);
      for (let b = 0; b < B; b++) expect(Math.abs(d.slice(b * V, b * V + V).reduce((s, x) => s + x, 0))).toBeLessThan(1e-6);
    });

    it.each([0.1, 0.3])('label smoothing %f: softmax_xent_backward (scale 1/B) matches finite differences of the smoothed loss/B', (e) => {
      const { be, logits, labels, probs, scratch } = setup(4500 + B * 10 + V);
      be.softmax_xent_forward(probs, logits, labels, B, V, e);
      const dlogits = be.alloc('f32', B * V);
      be.softmax_xent_backward(dlogits, probs, labels, B, V, 1 / B, e);
      const numeric = numericGrad(be, logits, () => be.softmax_xent_forward(scratch, logits, labels, B, V, e) / B);
      expectGradClose(be.read(dlogits), numeric, 'dlogits');
      // the smoothed target sums to 1 like the one-hot: each row of the gradient still sums to 0
      const d = be.read(dlogits);
      for (let b = 0; b < B; b++) expect(Math.abs(d.slice(b * V, b * V + V).reduce((s, x) => s + x, 0))).toBeLessThan(1e-6);
    });

    it('label smoothing: the loss is -sum_k t_k log p_k with t = (1 - e) onehot + e / V, from the logits in doubles', () => {
      const { be, logits, labels, probs } = setup(5500 + B * 10 + V);
      const e = 0.2;
      const loss = be.softmax_xent_forward(probs, logits, labels, B, V, e);
      const z = be.read(logits), y = be.read(labels);
      let expected = 0;
      for (let b = 0; b < B; b++) {
        const zr = Array.from(z.slice(b * V, b * V + V));
        const m = Math.max(...zr);
        const lse = Math.log(zr.reduce((s, x) => s + Math.exp(x - m), 0));
        for (let k = 0; k < V; k++) expected -= ((k === y[b] ? 1 - e : 0) + e / V) * (zr[k] - m - lse);
      }
      expect(Math.abs(loss - expected)).toBeLessThan(1e-12 * Math.max(1, expected));
      // and it is not the plain loss
      expect(Math.abs(loss - be.softmax_xent_forward(probs, logits, labels, B, V))).toBeGreaterThan(1e-6);
    });

    it('softmax_xent_forward: probs rows sum to 1, loss = -sum log p[label]', () => {
      const { be, logits, labels, probs } = setup(5000 + B * 10 + V);
      const loss = be.softmax_xent_forward(probs, logits, labels, B, V);
      const p = be.read(probs), z = be.read(logits), y = be.read(labels);
      let expected = 0;
      for (let b = 0; b < B; b++) {
        const row = p.slice(b * V, b * V + V);
        expect(Math.abs(row.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-5);
        expect(row.every((x) => x > 0 && x < 1)).toBe(true);
        expected -= Math.log(p[b * V + y[b]]);
        // and in doubles straight from the logits
        const zr = Array.from(z.slice(b * V, b * V + V));
        const m = Math.max(...zr);
        const sum = zr.reduce((s, x) => s + Math.exp(x - m), 0);
        for (let v = 0; v < V; v++) expect(Math.abs(p[b * V + v] - Math.exp(zr[v] - m) / sum)).toBeLessThan(1e-6);
      }
      expect(Math.abs(loss - expected)).toBeLessThan(1e-5 * Math.max(1, expected));
    });

    it('softmax_xent stays finite for large logits', () => {
      const { be, rand, labels, probs } = setup(6000 + B * 10 + V);
      const z = Array.from({ length: B * V }, () => (rand() < 0.5 ? 1000 : -1000) + Math.floor(rand() * 5));
      z[0] = 1000; // at least one huge logit
      const logits = f32(be, z);
      const loss = be.softmax_xent_forward(probs, logits, labels, B, V);
      expect(Number.isFinite(loss)).toBe(true);
      expect(loss).toBeGreaterThanOrEqual(0);
      const p = be.read(probs);
      expect(p.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
      for (let b = 0; b < B; b++) expect(Math.abs(p.slice(b * V, b * V + V).reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-5);
      // the loss is exact from the logits even when p[label] underflows to 0
      const y = be.read(labels);
      let expected = 0;
      for (let b = 0; b < B; b++) {
        const zr = z.slice(b * V, b * V + V);
        const m = Math.max(...zr);
        expected += Math.log(zr.reduce((s, x) => s + Math.exp(x - m), 0)) - (zr[y[b]] - m);
      }
      expect(Math.abs(loss - expected)).toBeLessThan(1e-6 * Math.max(1, expected));
      const dlogits = be.alloc('f32', B * V);
      be.softmax_xent_backward(dlogits, probs, labels, B, V, 1 / B);
      expect(be.read(dlogits).every(Number.isFinite)).toBe(true);
    });

    it('sigmoid_mse_backward (scale 1/B) matches finite differences of loss/B', () => {
      const { be, logits, labels, probs, scratch } = setup(7000 + B * 10 + V, 2.5);
      be.sigmoid_mse_forward(probs, logits, labels, B, V);
      const dlogits = be.alloc('f32', B * V);
      be.sigmoid_mse_backward(dlogits, probs, labels, B, V, 1 / B);
      const numeric = numericGrad(be, logits, () => be.sigmoid_mse_forward(scratch, logits, labels, B, V) / B, 5e-3);
      expectGradClose(be.read(dlogits), numeric, 'dlogits');
    });

    it('sigmoid_mse_forward: probs = sigmoid(logits), loss = 0.5 sum (p - onehot)^2', () => {
      const { be, logits, labels, probs } = setup(8000 + B * 10 + V);
      const loss = be.sigmoid_mse_forward(probs, logits, labels, B, V);
      const p = be.read(probs), z = be.read(logits), y = be.read(labels);
      let expected = 0;
      for (let b = 0; b < B; b++) {
        for (let v = 0; v < V; v++) {
          const s = 1 / (1 + Math.exp(-z[b * V + v]));
          expect(Math.abs(p[b * V + v] - s)).toBeLessThan(1e-6);
          expected += 0.5 * (s - (v === y[b] ? 1 : 0)) ** 2;
        }
      }
      expect(Math.abs(loss - expected)).toBeLessThan(1e-5 * Math.max(1, expected));
    });
  });

  // ---- optimizers (closed form, references in doubles) -----------------------------------------
  describe('optimizers', () => {
    const P0 = [1, -2, 0.5, 0.25, -0.75];
    const GRADS = [
      [0.5, 0.25, -1, 0, 2],
      [-0.3, 0.6, 0.1, -0.05, 1.5],
      [0.2, -0.4, -0.7, 0.9, -0.1],
    ];
    const N = P0.length;

    it('sgd_update without weight decay', () => {
      const be = makeBackend();
      const p = f32(be, P0), g = f32(be, GRADS[0]);
      be.sgd_update(p, g, N, 0.1, 0);
      expectAllClose(be.read(p), [0.95, -2.025, 0.6, 0.25, -0.95], 'sgd', 1e-6);
    });

    it('sgd_update with weight decay', () => {
      const be = makeBackend();
      const p = f32(be, P0), g = f32(be, GRADS[0]);
      be.sgd_update(p, g, N, 0.1, 0.01);
      // p - 0.1 * (g + 0.01 p)
      expectAllClose(be.read(p), [0.949, -2.023, 0.5995, 0.24975, -0.94925], 'sgd + wd', 1e-6);
      // N smaller than the tensor: the tail is untouched
      const p2 = f32(be, P0);
      be.sgd_update(p2, g, 3, 0.1, 0.01);
      expectAllClose(be.read(p2), [0.949, -2.023, 0.5995, 0.25, -0.75], 'sgd N=3', 1e-6);
    });

    it.each([
      ['classic', 0],
      ['nesterov', 1],
    ])('momentum_update (%s) over 3 steps with weight decay', (_name, nesterov) => {
      const be = makeBackend();
      const lr = 0.1, mu = 0.9, wd = 0.05;
      const p = f32(be, P0), g = be.alloc('f32', N), vel = be.alloc('f32', N);
      const ep = P0.slice(), ev = new Array<number>(N).fill(0);
      for (const grads of GRADS) {
        be.write(g, grads);
        be.momentum_update(p, g, vel, N, lr, mu, wd, nesterov);
        for (let i = 0; i < N; i++) {
          const gi = grads[i] + wd * ep[i];
          ev[i] = mu * ev[i] + gi;
          ep[i] -= lr * (nesterov ? gi + mu * ev[i] : ev[i]);
        }
        expectAllClose(be.read(vel), ev, 'velocity');
        expectAllClose(be.read(p), ep, 'params');
      }
      // hand-computed first step, element 0: g = 0.5 + 0.05 = 0.55, v = 0.55,
      // classic: 1 - 0.1*0.55 = 0.945; nesterov: 1 - 0.1*(0.55 + 0.9*0.55) = 0.8955
      const p1 = f32(be, P0), v1 = be.alloc('f32', N);
      be.momentum_update(p1, f32(be, GRADS[0]), v1, N, lr, mu, wd, nesterov);
      expect(be.read(p1)[0]).toBeCloseTo(nesterov ? 0.8955 : 0.945, 6);
      expect(be.read(v1)[0]).toBeCloseTo(0.55, 6);
    });

    it.each([
      ['Adam (L2 in the gradient)', 0],
      ['AdamW (decoupled)', 1],
    ])('adam_update: %s over 3 steps with bias correction', (_name, decoupled) => {
      const be = makeBackend();
      const lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
      const p = f32(be, P0), g = be.alloc('f32', N), m = be.alloc('f32', N), v = be.alloc('f32', N);
      const ep = P0.slice(), em = new Array<number>(N).fill(0), ev = new Array<number>(N).fill(0);
      for (let t = 1; t <= GRADS.length; t++) {
        const grads = GRADS[t - 1];
        const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
        be.write(g, grads);
        be.adam_update(p, g, m, v, N, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
        for (let i = 0; i < N; i++) {
          const gi = decoupled ? grads[i] : grads[i] + wd * ep[i];
          em[i] = b1 * em[i] + (1 - b1) * gi;
          ev[i] = b2 * ev[i] + (1 - b2) * gi * gi;
          const step = em[i] / bc1 / (Math.sqrt(ev[i] / bc2) + eps);
          ep[i] -= decoupled ? lr * step + lr * wd * ep[i] : lr * step;
        }
        expectAllClose(be.read(m), em, `m at t=${t}`);
        expectAllClose(be.read(v), ev, `v at t=${t}`);
        expectAllClose(be.read(p), ep, `params at t=${t}`);
      }
    });

    it('adam_update: the first bias-corrected step is lr * sign(g) (plus decay)', () => {
      const be = makeBackend();
      const lr = 0.01;
      const grads = [0.5, -3, 1e-3, 0, -0.25];
      // Adam, no decay: m/bc1 = g, v/bc2 = g^2, step = g / (|g| + eps)
      const p = f32(be, P0), m = be.alloc('f32', N), v = be.alloc('f32', N);
      be.adam_update(p, f32(be, grads), m, v, N, lr, 0.9, 0.999, 1e-8, 0, 0, 1 - 0.9, 1 - 0.999);
      expectAllClose(be.read(p), P0.map((x, i) => x - lr * Math.sign(grads[i])), 'adam step 1', 1e-6);
      // AdamW: additionally -lr*wd*p
      const wd = 0.5;
      const p2 = f32(be, P0), m2 = be.alloc('f32', N), v2 = be.alloc('f32', N);
      be.adam_update(p2, f32(be, grads), m2, v2, N, lr, 0.9, 0.999, 1e-8, wd, 1, 1 - 0.9, 1 - 0.999);
      expectAllClose(be.read(p2), P0.map((x, i) => x - lr * Math.sign(grads[i]) - lr * wd * x), 'adamw step 1', 1e-6);
    });

    it('repeated adam on f(x) = sum x^2 moves toward 0', () => {
      const be = makeBackend();
      const rand = mulberry32(99);
      const n = 7;
      const x0 = uniform(rand, n, -2, 2);
      const x = f32(be, x0), g = be.alloc('f32', n), m = be.alloc('f32', n), v = be.alloc('f32', n);
      const f = (a: ArrayLike<number>) => dot(a, a);
      const f0 = f(x0);
      let prev = f0;
      const b1 = 0.9, b2 = 0.999;
      for (let t = 1; t <= 300; t++) {
        const xs = be.read(x);
        be.write(g, Array.from(xs, (xi) => 2 * xi));
        be.adam_update(x, g, m, v, n, 0.05, b1, b2, 1e-8, 0, 0, 1 - b1 ** t, 1 - b2 ** t);
        if (t <= 10) {
          // the first steps go straight downhill
          const now = f(be.read(x));
          expect(now).toBeLessThan(prev);
          prev = now;
        }
      }
      expect(f(be.read(x))).toBeLessThan(1e-2 * f0);
    });
  });

  // ---- argmax, gathers, fill -------------------------------------------------------------------
  describe('argmax_rows', () => {
    it('first maximum wins on ties and the count of correct labels is returned', () => {
      const be = makeBackend();
      const B = 5, V = 4;
      const scores = f32(be, [
        1, 3, 3, 2, // tie between 1 and 2 -> 1
        -5, -2, -2, -7, // all negative, tie -> 1
        0, 0, 0, 0, // all equal -> 0
        1, 2, 3, 4, // last -> 3
        9, -1, 9, 9, // tie at the first -> 0
      ]);
      const labels = i32(be, [1, 2, 0, 3, 2]);
      const out = be.alloc('i32', B);
      const correct = be.argmax_rows(out, scores, labels, B, V);
      expect(Array.from(be.read(out))).toEqual([1, 1, 0, 3, 0]);
      expect(correct).toBe(3);
      // null labels: still writes out, returns 0
      const out2 = be.alloc('i32', B);
      expect(be.argmax_rows(out2, scores, null, B, V)).toBe(0);
      expect(Array.from(be.read(out2))).toEqual([1, 1, 0, 3, 0]);
    });

    it('matches a plain argmax on random scores (B=7, V=10)', () => {
      const be = makeBackend();
      const rand = mulberry32(31);
      const B = 7, V = 10;
      const s = uniform(rand, B * V, -3, 3);
      const expected = Array.from({ length: B }, (_, b) => {
        const row = s.slice(b * V, b * V + V);
        return row.indexOf(Math.max(...row));
      });
      const labels = expected.map((e, b) => (b % 2 ? e : (e + 1) % V));
      const out = be.alloc('i32', B);
      expect(be.argmax_rows(out, f32(be, s), i32(be, labels), B, V)).toBe(3);
      expect(Array.from(be.read(out))).toEqual(expected);
    });
  });

  describe('gather and fill', () => {
    it('gather_rows_u8 copies scaled rows by index', () => {
      const be = makeBackend();
      const rows = 4, C = 5, B = 3;
      const srcVals = Array.from({ length: rows * C }, (_, i) => (i * 37 + 11) % 256);
      srcVals[7] = 255;
      srcVals[3] = 0;
      const src = u8(be, srcVals);
      const idx = i32(be, [2, 0, 2]);
      const out = f32(be, new Array(B * C).fill(-1));
      const scale = 1 / 255;
      be.gather_rows_u8(out, src, idx, B, C, scale);
      const expected: number[] = [];
      for (const r of [2, 0, 2]) for (let c = 0; c < C; c++) expected.push(Math.fround(srcVals[r * C + c] * scale));
      expect(Array.from(be.read(out))).toEqual(expected);
      // scale 1 is an exact copy
      be.gather_rows_u8(out, src, i32(be, [1, 3, 0]), B, C, 1);
      expect(Array.from(be.read(out))).toEqual([...srcVals.slice(5, 10), ...srcVals.slice(15, 20), ...srcVals.slice(0, 5)]);
    });

    it('gather_u8 picks labels by index', () => {
      const be = makeBackend();
      const src = u8(be, [7, 3, 9, 0, 255, 1]);
      const out = be.alloc('i32', 5);
      be.gather_u8(out, src, i32(be, [4, 0, 0, 5, 3]), 5);
      expect(Array.from(be.read(out))).toEqual([255, 7, 7, 1, 0]);
    });

    it('fill sets the first N elements only', () => {
      const be = makeBackend();
      const t = f32(be, [1, 2, 3, 4, 5, 6, 7]);
      be.fill(t, 5, -0.5);
      expect(Array.from(be.read(t))).toEqual([-0.5, -0.5, -0.5, -0.5, -0.5, 6, 7]);
      be.fill(t, 7, 0);
      expect(Array.from(be.read(t))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    });
  });

  // ---- convolution (NHWC) ------------------------------------------------------------------------
  describe('conv2d backward', () => {
    // [B, H, W, C, OC, KH, KW, S, same]: odd sizes, both paddings, strides 1 and 2, a non-square kernel
    const CONV_SHAPES: Array<[number, number, number, number, number, number, number, number, boolean]> = [
      [2, 5, 5, 2, 3, 3, 3, 1, false],
      [1, 5, 4, 3, 2, 3, 3, 2, true],
      [2, 4, 5, 1, 3, 2, 3, 1, true],
      [1, 3, 3, 2, 2, 1, 1, 2, false],
      [1, 6, 6, 1, 2, 5, 5, 2, true],
    ];
    it.each(CONV_SHAPES)('dinp, dweight, dbias match finite differences (B=%i, %ix%ix%i -> OC=%i, %ix%i s%i same=%s)', (B, H, W, C, OC, KH, KW, S, same) => {
      const be = makeBackend();
      const rand = mulberry32(2200 + B * 1000 + H * 100 + C * 10 + OC);
      const { OH, OW } = conv2dShape(H, W, KH, KW, S, same);
      const inp = f32(be, uniform(rand, B * H * W * C));
      const weight = f32(be, uniform(rand, KH * KW * C * OC));
      const bias = f32(be, uniform(rand, OC));
      const R = uniform(rand, B * OH * OW * OC);
      const dout = f32(be, R);
      const out = be.alloc('f32', R.length);
      const objective = () => {
        be.conv2d_forward(out, inp, weight, bias, B, H, W, C, OC, KH, KW, S, same, Activation.linear);
        return dot(be.read(out), R);
      };
      const weightT = be.alloc('f32', KH * KW * C * OC);
      be.conv2d_filter_transpose(weightT, weight, KH, KW, C, OC);
      const dinp = be.alloc('f32', B * H * W * C);
      const dweight = be.alloc('f32', KH * KW * C * OC);
      const dbias = be.alloc('f32', OC);
      be.conv2d_backward_input(dinp, dout, weightT, B, H, W, C, OC, KH, KW, S, same);
      be.conv2d_backward_filter(dweight, dbias, dout, inp, B, H, W, C, OC, KH, KW, S, same);
      expectGradClose(be.read(dinp), numericGrad(be, inp, objective), 'dinp');
      expectGradClose(be.read(dweight), numericGrad(be, weight, objective), 'dweight');
      expectGradClose(be.read(dbias), numericGrad(be, bias, objective), 'dbias');
      expect(maxAbs(be.read(dweight))).toBeGreaterThan(0.05);
    });
  });

  describe('pooling backward', () => {
    // [B, H, W, C, K, S, same]: overlapping windows (S < K), clipped 'same' windows, a 1-wide input
    const POOL_SHAPES: Array<[number, number, number, number, number, number, boolean]> = [
      [2, 4, 4, 3, 2, 2, false],
      [1, 5, 5, 2, 3, 2, true],
      [1, 5, 4, 1, 3, 1, false],
      [2, 3, 1, 2, 2, 1, true],
    ];
    it.each(POOL_SHAPES)('max, average and global average pooling match finite differences (B=%i, %ix%ix%i, window %i, stride %i, same=%s)', (B, H, W, C, K, S, same) => {
      const be = makeBackend();
      const rand = mulberry32(2300 + B * 1000 + H * 100 + W * 10 + K);
      const { OH, OW } = conv2dShape(H, W, K, K, S, same);
      // distinct values at least 0.05 apart (a step of 1e-2 never changes which element is the max)
      const perm = uniform(rand, B * H * W * C).map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
      const xs = new Array<number>(perm.length);
      perm.forEach((p, r) => (xs[p.i] = Math.fround(-1 + 0.05 * r)));
      const inp = f32(be, xs);
      const R = uniform(rand, B * OH * OW * C), Rg = uniform(rand, B * C);
      const dout = f32(be, R), gout = f32(be, Rg);
      const out = be.alloc('f32', R.length), am = be.alloc('i32', R.length), g = be.alloc('f32', B * C);
      const dinp = be.alloc('f32', xs.length);
      const maxObjective = () => (be.maxpool2d_forward(out, am, inp, B, H, W, C, K, S, same), dot(be.read(out), R));
      const avgObjective = () => (be.avgpool2d_forward(out, inp, B, H, W, C, K, S, same), dot(be.read(out), R));
      const globalObjective = () => (be.global_avgpool_forward(g, inp, B, H * W, C), dot(be.read(g), Rg));
      maxObjective();
      be.maxpool2d_backward(dinp, dout, am, B, H, W, C, K, S, same);
      expectGradClose(be.read(dinp), numericGrad(be, inp, maxObjective), 'maxpool dinp');
      be.avgpool2d_backward(dinp, dout, B, H, W, C, K, S, same);
      expectGradClose(be.read(dinp), numericGrad(be, inp, avgObjective), 'avgpool dinp');
      be.global_avgpool_backward(dinp, gout, B, H * W, C);
      expectGradClose(be.read(dinp), numericGrad(be, inp, globalObjective), 'global avgpool dinp');
    });
  });

  describe('batchnorm_backward', () => {
    it.each([[4, 3], [7, 1], [3, 5]])('dinp, dgamma, dbeta match finite differences of the training forward (N=%i, C=%i)', (N, C) => {
      const be = makeBackend();
      const rand = mulberry32(2400 + N * 10 + C);
      const inp = f32(be, uniform(rand, N * C, -2, 2));
      const gamma = f32(be, uniform(rand, C, 0.5, 1.5)), beta = f32(be, uniform(rand, C));
      const runMean = be.alloc('f32', C), runVar = be.alloc('f32', C), mean = be.alloc('f32', C), invstd = be.alloc('f32', C);
      const R = uniform(rand, N * C);
      const dout = f32(be, R), out = be.alloc('f32', N * C);
      const objective = () => {
        be.batchnorm_forward(out, mean, invstd, runMean, runVar, inp, gamma, beta, N, C, 1e-3, 0.9, true);
        return dot(be.read(out), R);
      };
      objective();
      const dinp = be.alloc('f32', N * C), dgamma = be.alloc('f32', C), dbeta = be.alloc('f32', C);
      be.batchnorm_backward(dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, N, C);
      expectGradClose(be.read(dinp), numericGrad(be, inp, objective, 1e-3), 'dinp');
      expectGradClose(be.read(dgamma), numericGrad(be, gamma, objective), 'dgamma');
      expectGradClose(be.read(dbeta), numericGrad(be, beta, objective), 'dbeta');
    });
  });
});
