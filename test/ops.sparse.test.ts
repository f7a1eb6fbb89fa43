/**
 * The exact sparse first layer: nz_count / nz_fill / sparse_matmul_forward / sparse_matmul_backward /
 * sparse_update (the fused first-layer step)
 * of every wasm build against the TS reference, and the TS sparse ops against the dense path
 * (gather + matmul) they replace, on inputs of every density from 0 to 100% and awkward shapes
 * (OC below, at and off the 32-column and 4-column tiles).
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { makeSparseCase, type SparseCase } from './helpers/sparse-case.js';
import { sameBits } from './helpers/bits.js';

const DENSITIES = [0, 0.05, 0.19, 0.4, 0.7, 1];
const SHAPES: ([number, number, number] | [number, number, number, number[]])[] = [
  // rows in the dataset, C, OC
  // (the row loops take 56-, 32-, 8- and 4-column blocks, then single columns)
  [1, 1, 1], [5, 3, 5], [9, 17, 10], [12, 784, 64], [7, 784, 33], [6, 100, 32], [4, 31, 3], [5, 784, 17], [4, 50, 63],
  // wide layers take the unpacked-list path in the gradient (OC >= 96); more than 2048 non-zeros in a row do not
  [5, 784, 100], [3, 2100, 97],
  // weights of 1 MiB or more take the batch column lists (assembly/sparse.ts): tails of 32 and 4
  // columns; more rows than one list chunk holds (65,536 non-zeros at density 1; 256 rows, 64 in
  // the forward product);
  // more columns than the lists take (4,096) fall back to the row loops
  [90, 784, 337, [0.05, 1]], [259, 97, 2705, [0.05, 0.4]], [3, 4100, 70, [0.19, 1]],
];

function close(label: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5): void {
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= rtol * max + 1e-6)) throw new Error(`${label}: first bad index ${i}: got ${got[i]}, want ${want[i]} (max |want| ${max})`);
  }
  expect(got.length).toBe(want.length);
}

type Case = SparseCase;

/** a batch of all rows but one (at least 1) */
const makeCase = (rows: number, C: number, OC: number, density: number, seed: number): Case => makeSparseCase(rows, Math.max(1, rows - 1), C, OC, density, seed);

/** run the sparse ops of one backend; returns every output */
function runSparse(be: Backend, k: Case, scale: number) {
  const src = be.alloc('u8', k.src.length); be.write(src, k.src);
  const idx = be.alloc('i32', k.B); be.write(idx, k.idx);
  const W = be.alloc('f32', k.W.length); be.write(W, k.W);
  const b = be.alloc('f32', k.OC); be.write(b, k.b);
  const dout = be.alloc('f32', k.dout.length); be.write(dout, k.dout);
  const start = be.alloc('i32', k.rows + 1);
  const total = be.nz_count(start, src, k.rows, k.C);
  const nzIdx = be.alloc('i32', Math.max(1, total));
  be.nz_fill(nzIdx, start, src, k.rows, k.C);
  const out = be.alloc('f32', k.B * k.OC);
  be.fill(out, k.B * k.OC, NaN); // must be overwritten
  be.sparse_matmul_forward(out, start, nzIdx, idx, W, b, k.B, k.C, k.OC, scale);
  const outNoBias = be.alloc('f32', k.B * k.OC);
  be.sparse_matmul_forward(outNoBias, start, nzIdx, idx, W, null, k.B, k.C, k.OC, scale);
  const dW = be.alloc('f32', k.W.length); be.write(dW, k.dW0);
  const db = be.alloc('f32', k.OC); be.write(db, k.db0);
  be.sparse_matmul_backward(dW, db, dout, start, nzIdx, idx, k.B, k.C, k.OC, scale);
  const dbOnly = be.alloc('f32', k.OC); be.write(dbOnly, k.db0);
  be.sparse_matmul_backward(null, dbOnly, dout, start, nzIdx, idx, k.B, k.C, k.OC, scale);
  // the fused step: SGD with decay, then Nesterov with decay (velocity from dW0), on copies of W
  const scratch = be.alloc('f32', k.W.length);
  const Wsgd = be.alloc('f32', k.W.length); be.write(Wsgd, k.W);
  const gSgd = be.sparse_update(Wsgd, null, scratch, dout, start, nzIdx, idx, k.B, k.C, k.OC, scale, 0.05, 0, 1e-3, 0);
  const Wmom = be.alloc('f32', k.W.length); be.write(Wmom, k.W);
  const vel = be.alloc('f32', k.W.length); be.write(vel, k.dW0);
  const gMom = be.sparse_update(Wmom, vel, scratch, dout, start, nzIdx, idx, k.B, k.C, k.OC, scale, 0.05, 0.9, 1e-3, 1);
  return {
    total, start: be.read(start), nzIdx: be.read(nzIdx).subarray(0, total), out: be.read(out), outNoBias: be.read(outNoBias), dW: be.read(dW), db: be.read(db),
    dbOnly: be.read(dbOnly), Wsgd: be.read(Wsgd), Wmom: be.read(Wmom), vel: be.read(vel), guards: [gSgd, gMom],
  };
}

/** the dense path the sparse ops replace: gather the rows, then matmul_forward / matmul_backward */
function runDense(be: Backend, k: Case, scale: number) {
  const src = be.alloc('u8', k.src.length); be.write(src, k.src);
  const idx = be.alloc('i32', k.B); be.write(idx, k.idx);
  const X = be.alloc('f32', k.B * k.C);
  be.gather_rows_u8(X, src, idx, k.B, k.C, scale);
  const W = be.alloc('f32', k.W.length); be.write(W, k.W);
  const b = be.alloc('f32', k.OC); be.write(b, k.b);
  const out = be.alloc('f32', k.B * k.OC);
  be.matmul_forward(out, X, W, b, k.B, k.C, k.OC);
  const dout = be.alloc('f32', k.dout.length); be.write(dout, k.dout);
  const dW = be.alloc('f32', k.W.length); be.write(dW, k.dW0);
  const db = be.alloc('f32', k.OC); be.write(db, k.db0);
  be.matmul_backward(null, dW, db, dout, X, W, k.B, k.C, k.OC);
  return { out: be.read(out), dW: be.read(dW), db: be.read(db) };
}

describe('sparse first layer', () => {
  it('nz_fill refuses more columns than the packed entries hold, on every backend', async () => {
    for (const be of [new TsBackend(), await WasmBackend.create('simd'), await WasmBackend.create('scalar')]) {
      const t = be.alloc('i32', 1), src = be.alloc('u8', 1);
      expect(() => be.nz_fill(t, t, src, 0, (1 << 23) + 1)).toThrow(/8388609 columns do not fit/);
      expect(() => be.nz_fill(t, be.alloc('i32', 1), src, 0, 1 << 23)).not.toThrow();
    }
  });

  it('the TS sparse ops equal the dense path at every density', () => {
    let seed = 1;
    // (the wasm-only chunking shapes add nothing here: the TS ops have one path)
    for (const [rows, C, OC] of SHAPES.filter((x) => x.length === 3)) {
      for (const density of DENSITIES) {
        const k = makeCase(rows, C, OC, density, seed++);
        const s = runSparse(new TsBackend(), k, 1 / 255), d = runDense(new TsBackend(), k, 1 / 255);
        const label = `rows=${rows} C=${C} OC=${OC} density=${density}`;
        let nnz = 0;
        for (const x of k.src) if (x) nnz++;
        expect(s.total, label).toBe(nnz);
        close(`${label} forward`, s.out, d.out);
        close(`${label} dweight`, s.dW, d.dW);
        close(`${label} dbias`, s.db, d.db);
      }
    }
  });

  for (const variant of ['simd', 'scalar', 'debug'] as const) {
    it(`wasm ${variant}: every sparse op matches the TS reference at every density`, async () => {
      const w = await WasmBackend.create(variant);
      let seed = 100;
      for (const [rows, C, OC, densities = DENSITIES] of SHAPES) {
        for (const density of densities) {
          const k = makeCase(rows, C, OC, density, seed++);
          const m = w.mark();
          const got = runSparse(w, k, 1 / 255), want = runSparse(new TsBackend(), k, 1 / 255);
          w.release(m);
          const label = `${variant} rows=${rows} C=${C} OC=${OC} density=${density}`;
          expect(got.total, label).toBe(want.total);
          expect(Array.from(got.start), label).toEqual(Array.from(want.start));
          expect(Array.from(got.nzIdx), label).toEqual(Array.from(want.nzIdx));
          close(`${label} forward`, got.out, want.out);
          close(`${label} forward without bias`, got.outNoBias, want.outNoBias);
          close(`${label} dweight`, got.dW, want.dW);
          close(`${label} dbias`, got.db, want.db);
          close(`${label} dbias alone`, got.dbOnly, want.dbOnly);
          close(`${label} sparse_update sgd`, got.Wsgd, want.Wsgd);
          close(`${label} sparse_update nesterov weights`, got.Wmom, want.Wmom);
          close(`${label} sparse_update nesterov velocity`, got.vel, want.vel);
          expect(got.guards, label).toEqual([0, 0]);
          expect(want.guards, label).toEqual([0, 0]);
        }
      }
    });
  }

  it('the batch column lists, single and in pairs, give the row loops\' sums bit for bit (simd build against the scalar build)', async () => {
    // For weights of 1 MiB or more the simd build takes the column lists where the scalar build
    // takes the row loops: the forward product always in pairs of columns, the weight gradient in
    // pairs from 256 outputs (assembly/sparse.ts, PAIR_MIN_OC). (The fused update takes the lists in
    // both builds, so here its simd and scalar loops meet; test/fused.test.ts holds it to the row
    // loops through the unfused step.) Odd C (a pair without its second column),
    // batches of several list chunks (64 rows in the forward product, 256 in the gradient), every
    // density; dweight starts from non-zero values, so the chunks' partial sums are checked too.
    const simd = await WasmBackend.create('simd'), scalar = await WasmBackend.create('scalar');
    const cases: [number, number, number, number][] = [
      // rows, B, C, OC
      [140, 130, 784, 337], [80, 70, 97, 2705], [310, 300, 1100, 255], [310, 300, 1025, 256], [40, 33, 1025, 300],
    ];
    let seed = 7;
    for (const [rows, B, C, OC] of cases) {
      for (const density of [0.05, 0.19, 0.7, 1]) {
        const k = makeSparseCase(rows, B, C, OC, density, seed++);
        const m1 = simd.mark(), m2 = scalar.mark();
        const a = runSparse(simd, k, 1 / 255), b = runSparse(scalar, k, 1 / 255);
        simd.release(m1); scalar.release(m2);
        const label = `rows=${rows} B=${B} C=${C} OC=${OC} density=${density}`;
        expect(sameBits(a.out, b.out), `${label} forward`).toBe(true);
        expect(sameBits(a.outNoBias, b.outNoBias), `${label} forward without bias`).toBe(true);
        expect(sameBits(a.dW, b.dW), `${label} dweight`).toBe(true);
        expect(sameBits(a.Wsgd, b.Wsgd), `${label} sparse_update sgd`).toBe(true);
        expect(sameBits(a.Wmom, b.Wmom), `${label} sparse_update nesterov`).toBe(true);
        expect(sameBits(a.vel, b.vel), `${label} sparse_update velocity`).toBe(true);
      }
    }
  });
});
