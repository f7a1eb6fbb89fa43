/**
 * Batch-norm conformance: every WASM build (simd, scalar, debug, and threads: a team of 2) against the TS reference
 * (src/backends/ts/batchnorm.ts), bit for bit (assembly/batchnorm.ts: f64 sums in row order, f32
 * steps), in training and evaluation, on rows 1 to 129 x 26 x 26 and channels 1, 3, 5, 17, 32, 64;
 * a split of the channels in two equals the whole call.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Rng } from '../src/core/rng.js';
import { expectSame, guarded, put, values } from './helpers/exact.js';

// [N, C]: a dense layer's batch (N = B) or a conv output's pixels (N = B H W)
const SHAPES: [number, number][] = [[1, 1], [2, 3], [5, 5], [7, 17], [13, 32], [129, 64], [4 * 26 * 26, 32], [2 * 11 * 11, 64], [1000, 10], [28, 129], [3, 4100]]; // 4,100 channels: the f64 sums in two blocks of the scratch

const KEYS = ['out', 'mean', 'invstd', 'runMean', 'runVar', 'dinp', 'dgamma', 'dbeta'] as const;
type Result = Record<(typeof KEYS)[number], Float32Array>;

function run(be: Backend, N: number, C: number, training: boolean, seed: number, split?: number): Result {
  const rng = new Rng(seed);
  // an offset per channel (a large mean against a small spread tests the two-pass variance)
  const offs = Array.from({ length: C }, (_, c) => (c % 3) * 50);
  const xs = values(rng, N * C, 0.3).map((v, i) => v + offs[i % C]);
  const m = be.mark();
  try {
    const inp = put(be, 'f32', xs), dout = put(be, 'f32', values(rng, N * C, 0.5));
    const gamma = put(be, 'f32', values(rng, C, 0)), beta = put(be, 'f32', values(rng, C, 0));
    const runMean = put(be, 'f32', values(rng, C, 0)), runVar = put(be, 'f32', values(rng, C, 0).map(Math.abs));
    const dgamma = put(be, 'f32', values(rng, C, 0)), dbeta = put(be, 'f32', values(rng, C, 0));
    const out = guarded(be, 'f32', N * C), dinp = guarded(be, 'f32', N * C), mean = guarded(be, 'f32', C), invstd = guarded(be, 'f32', C);
    const parts = split === undefined ? [[0, C]] : [[Math.round(split * C), C], [0, Math.round(split * C)]];
    for (const [c0, c1] of parts) be.batchnorm_forward(out.t, mean.t, invstd.t, runMean, runVar, inp, gamma, beta, N, C, 1e-3, 0.99, training, c0, c1);
    for (const [c0, c1] of parts) be.batchnorm_backward(dinp.t, dgamma, dbeta, dout, inp, gamma, mean.t, invstd.t, N, C, c0, c1);
    for (const o of [out, dinp, mean, invstd]) o.guard();
    return { out: be.read(out.t), mean: be.read(mean.t), invstd: be.read(invstd.t), runMean: be.read(runMean), runVar: be.read(runVar), dinp: be.read(dinp.t), dgamma: be.read(dgamma), dbeta: be.read(dbeta) };
  } finally {
    be.release(m);
  }
}

describe.each(['simd', 'scalar', 'debug', 'threads'] as const)('batch-norm kernels, wasm %s build', (variant) => {
  let w: WasmBackend;
  beforeAll(async () => {
    // 'threads': the shared-memory build with a team of 2, whose ops split their ranges between the threads
    w = variant === 'threads' ? await WasmBackend.createThreaded(2) : await WasmBackend.create(variant);
  });
  afterAll(() => w.close());
  const ts = new TsBackend();

  it.each([true, false])('forward (training %s) and backward equal the TS reference bit for bit, whole and split by channels', (training) => {
    for (const [N, C] of SHAPES) {
      const want = run(ts, N, C, training, N * 100 + C);
      for (const split of [undefined, 0.4]) {
        const got = run(w, N, C, training, N * 100 + C, split);
        for (const k of KEYS) expectSame(`N=${N} C=${C} training=${training}${split ? ' split' : ''} ${k}`, got[k], want[k]);
      }
    }
  });
});
