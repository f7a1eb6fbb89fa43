/**
 * Threads (createBackend({ threads })): the first layer's sparse kernels split between worker
 * threads over one shared memory give exactly what one thread gives: the kernels on awkward shapes
 * and densities, and whole training runs; plus the option's errors and close().
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/core/backend.js';
import { createBackend } from '../src/backends/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Model } from '../src/train/model.js';
import { fit } from '../src/train/train.js';
import { Rng } from '../src/core/rng.js';
import { sameBits } from './helpers/bits.js';
import { makeSparseCase, type SparseCase } from './helpers/sparse-case.js';
import { synthetic } from './helpers/synthetic.js';

const teams: WasmBackend[] = [];
async function threaded(n: number): Promise<WasmBackend> {
  const be = (await createBackend({ prefer: 'wasm-simd', threads: n })) as WasmBackend;
  teams.push(be);
  return be;
}
afterAll(async () => {
  for (const be of teams) await be.close();
});

type Case = SparseCase;
const makeCase = makeSparseCase;

/** the forward product and the fused update (SGD with decay; Nesterov with decay) of one backend */
function run(be: Backend, k: Case) {
  const m = be.mark();
  const src = be.alloc('u8', k.src.length); be.write(src, k.src);
  const idx = be.alloc('i32', k.B); be.write(idx, k.idx);
  const start = be.alloc('i32', k.rows + 1);
  const total = be.nz_count(start, src, k.rows, k.C);
  const nz = be.alloc('i32', Math.max(1, total));
  be.nz_fill(nz, start, src, k.rows, k.C);
  const W = be.alloc('f32', k.W.length); be.write(W, k.W);
  const b = be.alloc('f32', k.OC); be.write(b, k.b);
  const out = be.alloc('f32', k.B * k.OC);
  be.fill(out, k.B * k.OC, NaN); // every element must be written
  be.sparse_matmul_forward(out, start, nz, idx, W, b, k.B, k.C, k.OC, 1 / 255);
  const dout = be.alloc('f32', k.dout.length); be.write(dout, k.dout);
  const scratch = be.alloc('f32', k.W.length);
  const gSgd = be.sparse_update(W, null, scratch, dout, start, nz, idx, k.B, k.C, k.OC, 1 / 255, 0.05, 0, 1e-3, 0);
  const vel = be.alloc('f32', k.dW0.length); be.write(vel, k.dW0);
  const gMom = be.sparse_update(W, vel, scratch, dout, start, nz, idx, k.B, k.C, k.OC, 1 / 255, 0.05, 0.9, 1e-3, 1);
  // the unfused weight gradient (Adam's path): into a non-zero dW, with and without dbias
  const dW = be.alloc('f32', k.W.length); be.write(dW, k.dW0);
  const db = be.alloc('f32', k.OC); be.write(db, k.db0);
  be.sparse_matmul_backward(dW, db, dout, start, nz, idx, k.B, k.C, k.OC, 1 / 255);
  be.sparse_matmul_backward(dW, null, dout, start, nz, idx, k.B, k.C, k.OC, 0.5);
  // a bad gradient changes nothing and is counted once, not once per thread
  const bad = be.alloc('f32', k.dout.length); be.write(bad, k.dout); be.write(bad, [NaN], 0);
  const gBad = be.sparse_update(W, vel, scratch, bad, start, nz, idx, k.B, k.C, k.OC, 1 / 255, 0.05, 0.9, 0, 0);
  const res = { out: be.read(out), W: be.read(W), vel: be.read(vel), dW: be.read(dW), db: be.read(db), guards: [gSgd, gMom, gBad] };
  be.release(m);
  return res;
}

describe('threads', () => {
  // (rows in the dataset, batch, C, OC): batches of 1-3 rows (fewer rows than threads), C of 1-5
  // (fewer inputs than threads), OC around the 48/32/16/4-column blocks, W of 1 MiB or more (the
  // column lists), batches over one list chunk (256 rows), and more inputs than the lists take
  const SHAPES: [number, number, number, number][] = [
    [1, 1, 1, 1], [4, 3, 1, 5], [5, 2, 3, 10], [20, 17, 17, 3], [30, 64, 784, 64], [9, 5, 784, 49],
    [40, 33, 100, 17], [50, 128, 784, 800], [300, 290, 97, 2705], [6, 4, 4100, 10],
  ];
  for (const n of [2, 3]) {
    it(`${n} threads: the sparse forward product and fused update are bit-identical to one thread`, async () => {
      const one = await WasmBackend.create('simd'), many = await threaded(n);
      expect(many.threads).toBe(n);
      let seed = 1;
      for (const [rows, B, C, OC] of SHAPES) {
        for (const density of [0, 0.19, 1]) {
          const k = makeCase(rows, B, C, OC, density, seed++);
          const a = run(one, k), b = run(many, k);
          const label = `${n} threads rows=${rows} B=${B} C=${C} OC=${OC} density=${density}`;
          expect(sameBits(b.out, a.out), `${label} forward`).toBe(true);
          expect(sameBits(b.W, a.W), `${label} weights`).toBe(true);
          expect(sameBits(b.vel, a.vel), `${label} velocity`).toBe(true);
          expect(sameBits(b.dW, a.dW), `${label} dweight`).toBe(true);
          expect(sameBits(b.db, a.db), `${label} dbias`).toBe(true);
          expect(b.guards, label).toEqual(a.guards);
          expect(a.guards[2], label).toBeGreaterThan(0);
        }
      }
    });
  }

  it('2 threads: the elementwise updates, fill and the non-finite count are bit-identical to one thread', async () => {
    const one = await WasmBackend.create('simd'), many = await threaded(2);
    for (const N of [16383, 16384, 16387, 100003]) {
      const rng = new Rng(N);
      const r = (scale: number) => Float32Array.from({ length: N }, () => (rng.float() * 2 - 1) * scale);
      const p0 = r(1), g0 = r(0.1), m0 = r(0.01), v0 = r(0.01).map(Math.abs);
      p0[N - 1] = 3.3e38; g0[N - 1] = -3e38; // an update that overflows: kept and counted, in the last part
      type T = Tensor<'f32'>;
      const both = (f: (be: Backend, P: T, G: T, M: T, V: T) => number) => {
        const out: (number | Float32Array)[][] = [];
        for (const be of [one, many]) {
          const m = be.mark();
          const P = be.alloc('f32', N), G = be.alloc('f32', N), M = be.alloc('f32', N), V = be.alloc('f32', N);
          be.write(P, p0); be.write(G, g0); be.write(M, m0); be.write(V, v0);
          out.push([f(be, P, G, M, V), be.read(P), be.read(M), be.read(V)]);
          be.release(m);
        }
        return out;
      };
      const cases: [string, (be: Backend, P: T, G: T, M: T, V: T) => number][] = [
        ['sgd', (be, P, G) => be.sgd_update(P, G, N, 0.1, 1e-4)],
        ['momentum', (be, P, G, M) => be.momentum_update(P, G, M, N, 0.1, 0.9, 1e-4, 0)],
        ['nesterov', (be, P, G, M) => be.momentum_update(P, G, M, N, 0.1, 0.9, 0, 1)],
        ['adamw', (be, P, G, M, V) => be.adam_update(P, G, M, V, N, 1e-3, 0.9, 0.999, 1e-8, 1e-2, 1, 0.1, 0.001)],
        ['fill and count', (be, P, G, M) => (be.fill(M, N - 5, NaN), be.count_nonfinite(M, N))],
      ];
      for (const [name, f] of cases) {
        const [a, b] = both(f);
        const label = `${name} N=${N}`;
        expect(b.slice(0, -3), label).toEqual(a.slice(0, -3));
        for (let i = a.length - 3; i < a.length; i++) expect(sameBits(b[i] as Float32Array, a[i] as Float32Array), `${label} output ${i}`).toBe(true);
      }
      expect(both(cases[0][1])[0][0], `sgd N=${N} kept`).toBe(-1);
      // a non-finite gradient anywhere: nothing changes, and the count comes back once
      g0[7] = NaN;
      const [a, b] = both(cases[3][1]);
      expect(b[0]).toBe(1);
      expect(a[0]).toBe(1);
      expect(sameBits(b[1] as Float32Array, p0), `adam N=${N}: parameters unchanged`).toBe(true);
      g0[7] = 0;
    }
  });

  it('2 and 3 threads: the dense products, the activations and dropout are bit-identical to one thread, split from their thresholds', async () => {
    const one = await WasmBackend.create('simd');
    for (const n of [2, 3]) {
      const many = await threaded(n);
      // which ops went through the workers
      const split: string[] = [];
      const inParts = (many as unknown as { inParts: (op: string, ...r: unknown[]) => number[] }).inParts.bind(many);
      (many as unknown as { inParts: unknown }).inParts = (op: string, ...r: unknown[]) => (split.push(op), inParts(op, ...r));
      const rng = new Rng(n);
      const r = (len: number, scale: number) => Float32Array.from({ length: len }, () => (rng.float() * 2 - 1) * scale);
      // (B, C, OC): batches of 2, 3, 5 and 17 rows (parts of 1 row, of uneven rows, 4-row tiles
      // cut), C (inputs, split in fours for dweight) and OC around the 4x8 tiles, the 2-column
      // tail of 10 classes and the narrow-layer dinp path; the first three stay under the split
      // threshold (65,536 multiply-adds), as W1's 64x64x10 output layer does
      for (const [B, C, OC, splits] of [
        [2, 3, 10, false], [64, 64, 10, false], [3, 800, 27, false], [2, 784, 64, true], [3, 800, 30, true],
        [5, 17, 784, true], [17, 97, 41, true], [129, 800, 17, true], [33, 2, 1000, true], [64, 800, 10, true], [40, 5, 333, true],
      ] as [number, number, number, boolean][]) {
        const X = r(B * C, 2), W = r(C * OC, 0.5), b = r(OC, 0.1), D = r(B * OC, 1), dW0 = r(C * OC, 0.01), db0 = r(OC, 0.01);
        const outs = [one, many].map((be) => {
          const m = be.mark();
          const x = be.alloc('f32', B * C), w = be.alloc('f32', C * OC), bias = be.alloc('f32', OC), out = be.alloc('f32', B * OC), out0 = be.alloc('f32', B * OC);
          const d = be.alloc('f32', B * OC), dx = be.alloc('f32', B * C), dw = be.alloc('f32', C * OC), db = be.alloc('f32', OC);
          be.write(x, X); be.write(w, W); be.write(bias, b); be.write(d, D); be.write(dw, dW0); be.write(db, db0);
          be.fill(out, B * OC, NaN); be.fill(out0, B * OC, NaN); be.fill(dx, B * C, NaN); // every element must be written
          be.matmul_forward(out, x, w, bias, B, C, OC);
          be.matmul_forward(out0, x, w, null, B, C, OC);
          be.matmul_backward(dx, dw, db, d, x, w, B, C, OC); // dweight and dbias accumulate
          be.matmul_backward(null, dw, null, d, x, w, B, C, OC); // without dinp and dbias
          const res = [be.read(out), be.read(out0), be.read(dx), be.read(dw), be.read(db)];
          be.release(m);
          return res;
        });
        const label = `${n} threads B=${B} C=${C} OC=${OC}`;
        ['forward with bias', 'forward', 'dinp', 'dweight', 'dbias'].forEach((what, i) => expect(sameBits(outs[1][i], outs[0][i]), `${label} ${what}`).toBe(true));
        const ops = split.splice(0);
        expect(ops.filter((op) => op === 'matmul_forward').length, label).toBe(splits ? 2 : 0);
        expect(ops.filter((op) => op === 'matmul_backward_part').length, label).toBe(splits ? 2 : 0);
      }
      // sigmoid and tanh split from 4,096 values, linear and relu from 65,536, every backward from 32,768
      for (const N of [4095, 4096, 4099, 32767, 32768, 32771, 65535, 65536, 100003]) {
        const x = r(N, 20), dy = r(N, 1);
        for (const at of [0, 1, 4095, 4096, N - 1]) if (at < N) x[at] = [NaN, Infinity, -Infinity, -0, 88.5][at % 5];
        for (const act of [0, 1, 2, 3]) {
          const outs = [one, many].map((be) => {
            const m = be.mark();
            const X = be.alloc('f32', N), Y = be.alloc('f32', N), D = be.alloc('f32', N), G = be.alloc('f32', N);
            be.write(X, x); be.write(D, dy); be.fill(Y, N, NaN); be.fill(G, N, NaN);
            be.activation_forward(Y, X, N, act);
            be.activation_backward(G, D, Y, N, act);
            be.activation_forward(X, X, N, act); // in place
            const res = [be.read(Y), be.read(G), be.read(X)];
            be.release(m);
            return res;
          });
          const label = `${n} threads N=${N} activation ${act}`;
          for (let i = 0; i < 3; i++) expect(sameBits(outs[1][i], outs[0][i]), `${label} output ${i}`).toBe(true);
          const ops = split.splice(0);
          const fwd = N >= (act === 1 || act === 3 ? 4096 : 65536);
          expect(ops.filter((op) => op === 'activation_forward').length, label).toBe(fwd ? 2 : 0);
          expect(ops.filter((op) => op === 'activation_backward').length, label).toBe(N >= 32768 ? 1 : 0);
        }
        // dropout splits from 65,536 units: each part's mask starts at its first unit's index
        const outs = [one, many].map((be) => {
          const m = be.mark();
          const X = be.alloc('f32', N), Y = be.alloc('f32', N), D = be.alloc('f32', N), G = be.alloc('f32', N);
          be.write(X, x); be.write(D, dy); be.fill(Y, N, NaN); be.fill(G, N, NaN);
          be.dropout_forward(Y, X, N, 0.3, 4294967295, 77);
          be.dropout_backward(G, D, N, 0.3, 4294967295, 77);
          const res = [be.read(Y), be.read(G)];
          be.release(m);
          return res;
        });
        expect(sameBits(outs[1][0], outs[0][0]), `${n} threads N=${N} dropout forward`).toBe(true);
        expect(sameBits(outs[1][1], outs[0][1]), `${n} threads N=${N} dropout backward`).toBe(true);
        expect(split.splice(0).filter((op) => op.startsWith('dropout')).length, `${n} threads N=${N} dropout`).toBe(N >= 65536 ? 2 : 0);
      }
    }
  });

  it('training with 2 threads is bit-identical to 1 thread (SGD, Nesterov, Adam and momentum on two hidden layers, evaluation between epochs)', async () => {
    // MNIST-like density: about a fifth of the inputs non-zero, so the sparse kernels run
    const d = synthetic(600, 196, 10, 3, 40);
    for (let i = 0; i < d.images.length; i++) if (d.images[i] < 60) d.images[i] = 0;
    const test = synthetic(200, 196, 10, 4, 40);
    const cfg = { layers: [196, 40, 10], activation: 'sigmoid' as const, seed: 5 };
    for (const opts of [
      { epochs: 2, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' as const },
      { epochs: 2, batchSize: 7, learningRate: 0.02, optimizer: 'nesterov' as const, momentum: 0.9, weightDecay: 1e-4 },
      // Adam: the unfused gradient (sparse_matmul_backward) and, with 100 hidden units (20,710
      // parameters), the elementwise update split too
      { epochs: 2, batchSize: 32, learningRate: 0.002, optimizer: 'adam' as const, hidden: [100] },
      // two hidden layers: the dense 150x80 layer's products and the sigmoids split too
      { epochs: 2, batchSize: 64, learningRate: 0.05, optimizer: 'momentum' as const, momentum: 0.9, hidden: [150, 80] },
    ]) {
      const layers = [196, ...((opts as { hidden?: number[] }).hidden ?? [40]), 10];
      const m1 = new Model({ ...cfg, layers }, await WasmBackend.create('simd'));
      const be2 = await threaded(2);
      const m2 = new Model({ ...cfg, layers }, be2);
      // the split kernels must be the ones training takes (batches at most 40% non-zero)
      const calls = { fwd: 0, upd: 0, bwd: 0, adam: 0 };
      const fwd = be2.sparse_matmul_forward.bind(be2), upd = be2.sparse_update.bind(be2);
      const bwd = be2.sparse_matmul_backward.bind(be2), adam = be2.adam_update.bind(be2);
      be2.sparse_matmul_forward = (...a) => (calls.fwd++, fwd(...a));
      be2.sparse_update = (...a) => (calls.upd++, upd(...a));
      be2.sparse_matmul_backward = (...a) => (a[0] && calls.bwd++, bwd(...a));
      be2.adam_update = (...a) => (a[4] >= 1 << 14 && calls.adam++, adam(...a));
      const split = new Set<string>();
      const inParts = (be2 as unknown as { inParts: (op: string, ...r: unknown[]) => number[] }).inParts.bind(be2);
      (be2 as unknown as { inParts: unknown }).inParts = (op: string, ...r: unknown[]) => (split.add(op), inParts(op, ...r));
      const { hidden: _, ...fitOpts } = opts as typeof opts & { hidden?: number[] };
      const h1 = await fit(m1, d, { ...fitOpts, testData: test });
      const h2 = await fit(m2, d, { ...fitOpts, testData: test });
      const w1 = m1.getWeights(), w2 = m2.getWeights();
      for (let l = 0; l < w1.length; l++) {
        expect(sameBits(w2[l].W, w1[l].W), `${opts.optimizer} layer ${l} W`).toBe(true);
        expect(sameBits(w2[l].b, w1[l].b), `${opts.optimizer} layer ${l} b`).toBe(true);
      }
      expect(h2.epochs.map((e) => [e.loss, e.testAccuracy])).toEqual(h1.epochs.map((e) => [e.loss, e.testAccuracy]));
      const steps = 2 * Math.ceil(600 / opts.batchSize);
      expect([calls.upd, calls.bwd, calls.adam], opts.optimizer).toEqual(opts.optimizer === 'adam' ? [0, steps, steps] : [steps, 0, 0]);
      expect(calls.fwd, opts.optimizer).toBeGreaterThan(calls.upd);
      // (the evaluation's larger batches may split the others' output layers too)
      if (layers.length > 3) expect(['matmul_forward', 'matmul_backward_part', 'activation_forward'].every((op) => split.has(op)), opts.optimizer).toBe(true);
    }
  });

  it('threads: bad values and backends are one-line usage errors', async () => {
    for (const t of [0, 1.5, -2, 65, NaN]) await expect(createBackend({ threads: t })).rejects.toThrow(/threads \(--threads\) must be an integer from 1 to 64/);
    await expect(createBackend({ prefer: 'ts', threads: 2 })).rejects.toThrow(/needs the wasm-simd backend, not ts/);
    await expect(createBackend({ prefer: 'wasm-scalar', threads: 2 })).rejects.toThrow(/needs the wasm-simd backend, not wasm-scalar/);
    // as in a page that is not cross-origin isolated
    const sab = globalThis.SharedArrayBuffer;
    try {
      delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
      await expect(createBackend({ threads: 2 })).rejects.toThrow(/threads: 2 needs SharedArrayBuffer, which this context does not have \(in a browser, serve the page cross-origin isolated: Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\): use threads: 1$/);
    } finally {
      globalThis.SharedArrayBuffer = sab;
    }
    const be = await createBackend({ threads: 1 });
    expect(be).toBeInstanceOf(WasmBackend);
    expect((be as WasmBackend).threads).toBe(1);
  });

  it('Model.create passes threads to createBackend, and refuses it beside a backend instance', async () => {
    const m = await Model.create({ layers: [20, 5, 3], seed: 1 }, { backend: 'wasm-simd', threads: 2 });
    expect((m.backend as WasmBackend).threads).toBe(2);
    teams.push(m.backend as WasmBackend);
    await expect(Model.create({ layers: [20, 5, 3] }, { backend: m.backend, threads: 2 })).rejects.toThrow(/threads goes to createBackend when you pass a backend instance/);
  });

  it("a calling thread that may not block (a browser page's main thread) spins instead of Atomics.wait", async () => {
    const wait = Atomics.wait;
    let calls = 0;
    // as on a browser's main thread: Atomics.wait throws (the workers, in their own isolates, keep theirs)
    Atomics.wait = (() => {
      calls++;
      throw new TypeError('Atomics.wait cannot be called in this context');
    }) as typeof Atomics.wait;
    try {
      const one = await WasmBackend.create('simd');
      const many = await threaded(2);
      const probes = calls; // the team's probe at start-up
      expect(probes).toBeGreaterThan(0);
      // parts long enough that the caller polls far past its spin budget before the worker is done
      const k = makeCase(300, 256, 784, 800, 0.19, 42);
      const a = run(one, k), b = run(many, k);
      expect(sameBits(b.out, a.out)).toBe(true);
      expect(sameBits(b.W, a.W)).toBe(true);
      expect(calls, 'the caller waited in Atomics.wait').toBe(probes);
    } finally {
      Atomics.wait = wait;
    }
  });

  it('a team polls only when it has no more threads than the machine has CPUs, with the same results either way', async () => {
    // oversubscribed, a polling thread held the CPU its partner needed: 3 threads on 2 vCPUs took 5x one thread's time
    const cpus = availableParallelism();
    expect((await threaded(2)).spinning).toBe(cpus >= 2);
    expect((await threaded(3)).spinning).toBe(cpus >= 3);
    const one = await WasmBackend.create('simd');
    for (const spin of [true, false]) {
      const be = await WasmBackend.createThreaded(3, undefined, spin);
      teams.push(be);
      expect(be.spinning).toBe(spin);
      for (const [rows, B, C, OC] of [[30, 64, 784, 64], [50, 128, 784, 800], [5, 2, 3, 10]]) {
        const k = makeCase(rows, B, C, OC, 0.19, rows + OC);
        const a = run(one, k), b = run(be, k);
        const label = `spin=${spin} B=${B} C=${C} OC=${OC}`;
        expect(sameBits(b.out, a.out), `${label} forward`).toBe(true);
        expect(sameBits(b.W, a.W), `${label} weights`).toBe(true);
        expect(sameBits(b.vel, a.vel), `${label} velocity`).toBe(true);
        expect(sameBits(b.dW, a.dW), `${label} dweight`).toBe(true);
        expect(b.guards, label).toEqual(a.guards);
      }
    }
  });

  it('close() stops the workers; the split kernels then refuse to run', async () => {
    const be = await threaded(2);
    const k = makeCase(10, 8, 30, 12, 0.3, 9);
    run(be, k);
    await be.close();
    await be.close(); // idempotent
    expect(() => run(be, k)).toThrow(/this backend was closed: create a new one/);
  });
});

describe('threads: errors', () => {
  it("a kernel that fails in a worker throws in the caller, after every part has stopped", async () => {
    const be = await threaded(2);
    const k = makeCase(4, 2, 30, 12, 0.3, 11);
    const src = be.alloc('u8', k.src.length); be.write(src, k.src);
    const start = be.alloc('i32', k.rows + 1);
    const nz = be.alloc('i32', Math.max(1, be.nz_count(start, src, k.rows, k.C)));
    be.nz_fill(nz, start, src, k.rows, k.C);
    const W = be.alloc('f32', k.W.length), out = be.alloc('f32', k.B * k.OC);
    // row 0 (this thread's part) is a real row; row 1 (the worker's) points far outside memory
    const idx = be.alloc('i32', 2); be.write(idx, [0, 0x1fffffff]);
    expect(() => be.sparse_matmul_forward(out, start, nz, idx, W, null, 2, k.C, k.OC, 1 / 255)).toThrow(/a kernel failed in a worker thread: .*out of bounds/);
    // the team still works afterwards
    be.write(idx, [0, 1]);
    expect(() => be.sparse_matmul_forward(out, start, nz, idx, W, null, 2, k.C, k.OC, 1 / 255)).not.toThrow();
  });
});

describe('threads: start-up', () => {
  it('the workers start when the process runs its code as ES modules (node --input-type=module)', () => {
    // workers inherit the parent's flags: their program must not depend on being CommonJS
    const dist = new URL('../dist/node.js', import.meta.url).href;
    const code = `const { createBackend } = await import(${JSON.stringify(dist)}); const be = await createBackend({ threads: 2 }); console.log(be.threads); await be.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('2');
  });

  it('a worker that cannot start is a one-line error from createBackend, not a hang', async () => {
    const { Team } = await import('../src/backends/wasm/threads.js');
    const { loadWasmModule } = await import('../src/backends/wasm/loader.js');
    // the plain SIMD build imports an unshared memory: a worker cannot instantiate it over a shared one
    const module = await loadWasmModule('simd');
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
    const t0 = Date.now();
    await expect(Team.start(module, memory, [1024], [4096])).rejects.toThrow(/^a worker thread did not start: .*shared/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
