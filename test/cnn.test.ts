/**
 * Convolutional layers in the model (issue 22): a mixed CNN list built by the Model computes what a
 * hand-written composition of the reference kernels (src/backends/ts/*-reference.ts, batchnorm.ts)
 * computes, in evaluation and in one training step (dropout, batch statistics, the running
 * statistics' update, backward through every layer, SGD); the whole model's gradient holds to finite
 * differences; ts, wasm-scalar, wasm-simd and 2 threads agree under the kernels' exactness rules;
 * files and checkpoints carry CNNs (BatchNorm's running statistics included) bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { dropoutKeep, dropoutParams, type Backend } from '../src/core/backend.js';
import { createBackend } from '../src/backends/index.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { conv2dBackwardFilterRef, conv2dBackwardInputRef, conv2dFilterTransposeRef, conv2dForwardRef } from '../src/backends/ts/conv-reference.js';
import { avgpool2dBackwardRef, avgpool2dForwardRef, globalAvgpoolForwardRef, maxpool2dBackwardRef, maxpool2dForwardRef } from '../src/backends/ts/pool-reference.js';
import { batchnormBackwardRef, batchnormForwardRef } from '../src/backends/ts/batchnorm.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/format/checkpoint.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { avgPool2d, batchNorm, conv2d, dense, describeNetwork, dropout, flatten, globalAvgPool, maxPool2d, type LayerSpec } from '../src/nn/layers.js';
import { Model, resolveConfig, type DataSet } from '../src/train/model.js';
import { DivergenceError, InterruptedError } from '../src/train/train.js';
import { BACKENDS } from './helpers/backends.js';
import { withHeader } from './helpers/file-header.js';
import { DataError, SimdnetError, UsageError } from '../src/core/errors.js';
import { synthetic } from './helpers/synthetic.js';

const f = Math.fround;
const SEED = 7, SCALE = 1 / 255;

/** rows of u8 pixels with about half zeros (the conv kernels skip those) */
function pixels(B: number, n: number, salt = 0): Uint8Array {
  const x = new Uint8Array(B * n);
  for (let i = 0; i < x.length; i++) x[i] = ((i + salt) * 37) % 10 < 5 ? 0 : 1 + (((i + salt) * 91) % 255);
  return x;
}

const relErr = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = 0, top = 0;
  for (let i = 0; i < want.length; i++) top = Math.max(top, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(top, 1e-30);
};
const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-5) => {
  expect(got.length, what).toBe(want.length);
  expect(relErr(got, want), `${what}: max difference relative to the largest value`).toBeLessThan(rtol);
};
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// ---- (a) a mixed list against a hand-written reference ----------------------------------------------

// [9, 8, 2] -> conv same relu [9, 8, 4] -> bn -> conv 2x3 stride 2 valid [4, 3, 5] -> maxpool 2 stride 1
// [3, 2, 5] -> avgpool 2 same [2, 1, 5] -> dropout -> flatten [10] -> dense 6 tanh -> bn -> dense 3
const IN = [9, 8, 2], B = 6, LR = 0.2;
const LIST: LayerSpec[] = [
  conv2d(4, 3, { padding: 'same', activation: 'relu' }), batchNorm({ momentum: 0.9 }), conv2d(5, [2, 3], { stride: 2 }), maxPool2d(2, { stride: 1 }),
  avgPool2d(2, { padding: 'same' }), dropout(0.4), flatten(), dense(6, 'tanh'), batchNorm(), dense(3),
];
const labels = Uint8Array.from([0, 2, 1, 2, 0, 1]);
type T = Record<string, Float32Array>;

/** y (B x n) = x (B x m) W (m x n) + b */
function affine(x: Float32Array, W: Float32Array, b: Float32Array, m: number, n: number): Float32Array {
  const y = new Float32Array(B * n);
  for (let r = 0; r < B; r++) for (let j = 0; j < n; j++) {
    let s = b[j];
    for (let i = 0; i < m; i++) s += x[r * m + i] * W[i * n + j];
    y[r * n + j] = s;
  }
  return y;
}

/** the list's forward (and, training, its backward and one SGD step) written out with the reference kernels */
function reference(w: T, training: boolean) {
  const t = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.slice()])) as T; // running statistics move in training
  const x = Float32Array.from(pixels(B, 144), (p) => p * f(SCALE));
  const c1 = new Float32Array(B * 9 * 8 * 4);
  conv2dForwardRef(c1, x, t['layers.0.W'], t['layers.0.b'], B, 9, 8, 2, 4, 3, 3, 1, true, 0);
  const r1 = c1.map((v) => Math.max(0, v));
  const bn1 = new Float32Array(r1.length), m1 = new Float32Array(4), s1 = new Float32Array(4);
  batchnormForwardRef(bn1, m1, s1, t['layers.1.mean'], t['layers.1.variance'], r1, t['layers.1.gamma'], t['layers.1.beta'], B * 72, 4, 0.001, 0.9, training);
  const c2 = new Float32Array(B * 4 * 3 * 5);
  conv2dForwardRef(c2, bn1, t['layers.2.W'], t['layers.2.b'], B, 9, 8, 4, 5, 2, 3, 2, false, 0);
  const mp = new Float32Array(B * 3 * 2 * 5), am = new Int32Array(mp.length);
  maxpool2dForwardRef(mp, am, c2, B, 4, 3, 5, 2, 1, false);
  const ap = new Float32Array(B * 2 * 1 * 5);
  avgpool2dForwardRef(ap, mp, B, 3, 2, 5, 2, 2, true);
  // dropout after the third layer with weights: stream 2 of step 0
  const { threshold, scale } = dropoutParams(0.4);
  const mask = Float32Array.from({ length: ap.length }, (_, i) => (!training ? 1 : dropoutKeep(i, 2, SEED, threshold) ? scale : 0));
  const dr = ap.map((v, i) => v * mask[i]);
  const h = affine(dr, t['layers.7.W'], t['layers.7.b'], 10, 6).map(Math.tanh);
  const bn2 = new Float32Array(B * 6), m2 = new Float32Array(6), s2 = new Float32Array(6);
  batchnormForwardRef(bn2, m2, s2, t['layers.8.mean'], t['layers.8.variance'], h, t['layers.8.gamma'], t['layers.8.beta'], B, 6, 0.001, 0.99, training);
  const z = affine(bn2, t['layers.9.W'], t['layers.9.b'], 6, 3);
  const p = new Float32Array(B * 3);
  for (let r = 0; r < B; r++) {
    const row = Array.from(z.slice(r * 3, r * 3 + 3)), mx = Math.max(...row), e = row.map((v) => Math.exp(v - mx)), s = e.reduce((a, b) => a + b);
    e.forEach((v, j) => (p[r * 3 + j] = v / s));
  }
  if (!training) return { p, stepped: t };
  // backward: every gradient, then SGD
  const g: T = {};
  const dense = (xin: Float32Array, dout: Float32Array, W: Float32Array, m: number, n: number, name: string) => {
    const dW = new Float32Array(m * n), db = new Float32Array(n), dx = new Float32Array(B * m);
    for (let r = 0; r < B; r++) for (let j = 0; j < n; j++) {
      db[j] += dout[r * n + j];
      for (let i = 0; i < m; i++) (dW[i * n + j] += xin[r * m + i] * dout[r * n + j]), (dx[r * m + i] += dout[r * n + j] * W[i * n + j]);
    }
    g[`${name}.W`] = dW;
    g[`${name}.b`] = db;
    return dx;
  };
  const dz = p.map((v, i) => (v - (labels[Math.floor(i / 3)] === i % 3 ? 1 : 0)) / B);
  const dbn2 = dense(bn2, dz, t['layers.9.W'], 6, 3, 'layers.9');
  const dh = new Float32Array(B * 6);
  g['layers.8.gamma'] = new Float32Array(6);
  g['layers.8.beta'] = new Float32Array(6);
  batchnormBackwardRef(dh, g['layers.8.gamma'], g['layers.8.beta'], dbn2, h, t['layers.8.gamma'], m2, s2, B, 6);
  const dpre = dh.map((v, i) => v * (1 - h[i] * h[i]));
  const ddr = dense(dr, dpre, t['layers.7.W'], 10, 6, 'layers.7');
  const dap = ddr.map((v, i) => v * mask[i]);
  const dmp = new Float32Array(mp.length);
  avgpool2dBackwardRef(dmp, dap, B, 3, 2, 5, 2, 2, true);
  const dc2 = new Float32Array(c2.length);
  maxpool2dBackwardRef(dc2, dmp, am, B, 4, 3, 5, 2, 1, false);
  g['layers.2.W'] = new Float32Array(2 * 3 * 4 * 5);
  g['layers.2.b'] = new Float32Array(5);
  conv2dBackwardFilterRef(g['layers.2.W'], g['layers.2.b'], dc2, bn1, B, 9, 8, 4, 5, 2, 3, 2, false, 0);
  const wt = new Float32Array(2 * 3 * 4 * 5), dbn1 = new Float32Array(bn1.length);
  conv2dFilterTransposeRef(wt, t['layers.2.W'], 2, 3, 4, 5);
  conv2dBackwardInputRef(dbn1, dc2, wt, B, 9, 8, 4, 5, 2, 3, 2, false, 0);
  const dr1 = new Float32Array(r1.length);
  g['layers.1.gamma'] = new Float32Array(4);
  g['layers.1.beta'] = new Float32Array(4);
  batchnormBackwardRef(dr1, g['layers.1.gamma'], g['layers.1.beta'], dbn1, r1, t['layers.1.gamma'], m1, s1, B * 72, 4);
  const dc1 = dr1.map((v, i) => (r1[i] > 0 ? v : 0));
  g['layers.0.W'] = new Float32Array(3 * 3 * 2 * 4);
  g['layers.0.b'] = new Float32Array(4);
  conv2dBackwardFilterRef(g['layers.0.W'], g['layers.0.b'], dc1, x, B, 9, 8, 2, 4, 3, 3, 1, true, 0);
  for (const [k, v] of Object.entries(g)) t[k] = t[k].map((w, i) => w - LR * v[i]);
  return { p, stepped: t };
}

describe('a CNN from a mixed layer list', () => {
  it('shapes chain in NHWC, each layer describes itself, the summary is compact', () => {
    const m = new Model({ layers: LIST, inputShape: IN, seed: SEED }, new TsBackend());
    expect(m.layers.map((l) => l.outShape)).toEqual([[9, 8, 4], [9, 8, 4], [4, 3, 5], [3, 2, 5], [2, 1, 5], [2, 1, 5], [10], [6], [6], [3]]);
    expect(m.layers.map((l) => l.describe())).toEqual(m.config.model.layers);
    expect(describeNetwork(m.config.model)).toBe('input 9x8x2, conv 4 3x3 same relu, batchnorm 0.9/0.001, conv 5 2x3/2, maxpool 2/1, avgpool 2 same, dropout 0.4, flatten, dense 6 tanh, batchnorm, dense 3');
    // the Keras mnist_convnet: 34,826 parameters, [28, 28] is one channel
    const k = new Model({ inputShape: [28, 28], layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(0.5), dense(10)] }, new TsBackend());
    const count = k.layers.reduce((n, l) => n + l.params.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0), 0);
    expect(count).toBe(34826);
    // paramCount is that count (Keras's); the parameter block readParams() returns has each tensor padded to 4 floats
    expect(k.paramCount).toBe(34826);
    expect(k.paramBlockLength).toBe(34828);
    expect(k.readParams().length).toBe(34828);
    expect(k.layers.map((l) => l.outShape)).toEqual([[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [1600], [1600], [10]]);
  });

  for (const b of BACKENDS.slice(0, 2)) {
    it(`${b.name}: predict and one SGD step (batch statistics, running statistics, dropout) match the reference kernels composed by hand`, async () => {
      const m = new Model({ layers: LIST, inputShape: IN, seed: SEED }, await b.create());
      // a trained-looking start: running statistics and BN parameters away from their initial values
      const w0 = m.getLayerTensors();
      for (const [k, v] of Object.entries(w0)) {
        if (/\.(gamma|variance)$/.test(k)) v.forEach((_, i) => (v[i] = 0.5 + 0.25 * i));
        if (/\.(beta|mean)$/.test(k)) v.forEach((_, i) => (v[i] = 0.1 * i - 0.2));
      }
      m.setLayerTensors(w0);
      expect(Object.keys(w0)).toEqual(['layers.0.W', 'layers.0.b', 'layers.1.gamma', 'layers.1.beta', 'layers.1.mean', 'layers.1.variance', 'layers.2.W', 'layers.2.b', 'layers.7.W', 'layers.7.b', 'layers.8.gamma', 'layers.8.beta', 'layers.8.mean', 'layers.8.variance', 'layers.9.W', 'layers.9.b']);
      // evaluation: the running statistics, dropout the identity
      close(m.predict(pixels(B, 144)), reference(w0, false).p, 'probabilities');
      await m.fit({ images: pixels(B, 144), labels, count: B, features: 144 }, { epochs: 1, batchSize: B, optimizer: 'sgd', learningRate: LR, shuffle: false });
      const want = reference(w0, true).stepped, got = m.getLayerTensors();
      for (const k of Object.keys(want)) close(got[k], want[k], k);
      // and evaluation after the step uses the moved running statistics
      close(m.predict(pixels(B, 144)), reference(got, false).p, 'probabilities after the step');
    });
  }

  it('a globalavgpool head: predict matches the reference kernels', async () => {
    const m = new Model({ layers: [conv2d(3, 2, { stride: 2, padding: 'same', activation: 'relu' }), globalAvgPool()], inputShape: [5, 7], seed: 3 }, await BACKENDS[0].create());
    const w = m.getLayerTensors();
    const x = Float32Array.from(pixels(4, 35, 3), (p) => p * f(SCALE));
    const c = new Float32Array(4 * 3 * 4 * 3);
    conv2dForwardRef(c, x, w['layers.0.W'], w['layers.0.b'], 4, 5, 7, 1, 3, 2, 2, 2, true, 0);
    const g = new Float32Array(4 * 3);
    globalAvgpoolForwardRef(g, c.map((v) => Math.max(0, v)), 4, 12, 3);
    const p = new Float32Array(12);
    for (let r = 0; r < 4; r++) {
      const e = Array.from(g.slice(r * 3, r * 3 + 3), (v) => Math.exp(v)), s = e.reduce((a, b) => a + b);
      e.forEach((v, j) => (p[r * 3 + j] = v / s));
    }
    close(m.predict(pixels(4, 35, 3)), p, 'probabilities');
  });
});

// ---- (b) finite differences of the whole model's loss ------------------------------------------------

describe('the CNN gradient', () => {
  it('holds to finite differences of the model loss for every parameter tensor (conv W/b, bn gamma/beta, dense) on the ts backend', async () => {
    const be = new TsBackend();
    const layers = [conv2d(3, 3, { padding: 'same', activation: 'tanh' }), batchNorm(), avgPool2d(2), conv2d(2, 2, { activation: 'tanh' }), flatten(), dense(4)];
    const m = new Model({ layers, inputShape: [6, 5], seed: 5 }, be);
    // gamma and beta off their initial 1 and 0
    const w0 = m.getLayerTensors();
    w0['layers.1.gamma'].set([1.3, 0.7, 1.1]);
    w0['layers.1.beta'].set([0.2, -0.1, 0.3]);
    m.setLayerTensors(w0);
    const Bn = 5, data: DataSet = { images: pixels(Bn, 30, 1), labels: Uint8Array.from([0, 3, 1, 2, 3]), count: Bn, features: 30 };
    const s = m.plan(Bn, 'none', [data]);
    const order = Int32Array.from({ length: Bn }, (_, i) => i);
    // the mean loss of the batch through the training forward (batch statistics)
    const loss = () => {
      m.setOrder(s, order);
      m.loadBatch(s, s.resident.get(data)!, 0, Bn);
      m.forward(s, Bn, true);
      return m.lossForward(s, Bn) / Bn;
    };
    loss();
    m.backward(s, Bn);
    const grads = be.read(m.grads), p0 = m.readParams();
    const offsets: Record<string, number> = {};
    let at = 0;
    for (const l of m.layers) for (const t of l.params) {
      offsets[`layers.${l.index}.${t.name}`] = at;
      at += Math.ceil(t.shape.reduce((a, b) => a * b, 1) / 4) * 4;
    }
    const names = Object.keys(offsets);
    expect(names).toEqual(['layers.0.W', 'layers.0.b', 'layers.1.gamma', 'layers.1.beta', 'layers.3.W', 'layers.3.b', 'layers.5.W', 'layers.5.b']);
    const top = grads.reduce((a, g) => Math.max(a, Math.abs(g)), 0);
    expect(top).toBeGreaterThan(1e-3);
    const h = 1e-2;
    for (const name of names) {
      const n = w0[name].length;
      for (const i of [0, Math.floor(n / 2), n - 1]) {
        const k = offsets[name] + i, p = p0.slice();
        p[k] = p0[k] + h;
        m.writeParams(p);
        const up = loss();
        p[k] = p0[k] - h;
        m.writeParams(p);
        const down = loss();
        const fd = (up - down) / (2 * h);
        expect(Math.abs(fd - grads[k]), `${name}[${i}]: finite difference ${fd}, backward ${grads[k]}`).toBeLessThan(1e-2 * top);
      }
    }
  });
});

// ---- (c) every backend, and threads --------------------------------------------------------------------

/** a CNN with no Dense layer: every op in it is bit-identical across the builds (docs/conv-kernels.md) */
const NO_DENSE: LayerSpec[] = [
  conv2d(6, 3, { padding: 'same', activation: 'relu' }), batchNorm(), maxPool2d(2), conv2d(8, [2, 3], { stride: 2, activation: 'relu' }),
  avgPool2d(2, { stride: 1, padding: 'same' }), dropout(0.3), conv2d(5, 1), batchNorm(), globalAvgPool(),
];
const WITH_DENSE: LayerSpec[] = [conv2d(6, 3, { activation: 'relu' }), maxPool2d(2), batchNorm(), flatten(), dropout(0.25), dense(12, 'relu'), batchNorm(), dense(5)];
const SETUPS = [['ts', 1], ['wasm-scalar', 1], ['wasm-simd', 1], ['wasm-simd', 2]] as const;

describe('a CNN on every backend', () => {
  const data = synthetic(64, 196, 5, 9);
  data.imageShape = [14, 14];

  it('one backward gives the same bits on ts, wasm-scalar, wasm-simd and wasm-simd with 2 threads (a CNN without Dense)', async () => {
    const got: Float32Array[][] = [];
    for (const [prefer, threads] of SETUPS) {
      const m = new Model({ layers: NO_DENSE, inputShape: [14, 14], seed: 3 }, await createBackend({ prefer, threads }));
      const s = m.plan(48, 'none', [data]);
      m.setOrder(s, Int32Array.from({ length: 64 }, (_, i) => (i * 5) % 64));
      m.loadBatch(s, s.resident.get(data)!, 0, 48);
      m.forward(s, 48, true);
      const loss = m.lossForward(s, 48);
      m.backward(s, 48);
      got.push([m.backend.read(s.probs), m.backend.read(m.grads), m.readBuffers(), Float32Array.of(loss)]);
    }
    for (let k = 1; k < got.length; k++) {
      ['probabilities', 'gradients', 'running statistics', 'loss'].forEach((what, j) => expect(sameBits(got[k][j], got[0][j]), `${SETUPS[k].join(' x')}: ${what}`).toBe(true));
    }
  });

  for (const [name, layers] of [['without Dense', NO_DENSE], ['with Dense', WITH_DENSE]] as const) {
    it(`training steps (${name}): 2 threads give wasm-simd's bits; ts, wasm-scalar and wasm-simd agree to the optimizer's and matmul's tolerance`, async () => {
      const runs: Float32Array[][] = [];
      for (const [prefer, threads] of SETUPS) {
        const m = new Model({ layers, inputShape: [14, 14], seed: 4 }, await createBackend({ prefer, threads }));
        // momentum: Adam divides by the root of tiny second moments, which turns last-bit differences
        // of a near-zero gradient into steps of the learning rate's size (threads stay bit-identical under Adam too: below)
        await m.fit(data, { epochs: 2, batchSize: 32, optimizer: 'momentum', learningRate: 0.05 });
        runs.push([m.readParams(), m.readBuffers(), m.predict(data.images)]);
      }
      runs[3].forEach((v, j) => expect(sameBits(v, runs[2][j]), `2 threads: tensor ${j}`).toBe(true));
      // the updates (and a Dense's matmul: the TS reference sums in f64) hold to a tolerance, not bits
      for (const k of [0, 1]) runs[k].forEach((v, j) => close(v, runs[2][j], `${SETUPS[k][0]}: tensor ${j}`, 1e-5));
    });
  }

  it('Adam: 2 threads give the bits of 1 (the W4 network, a few batches)', async () => {
    const mnistLike = synthetic(96, 784, 10, 3);
    const runs: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const m = new Model({ layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(0.5), dense(10)], inputShape: [28, 28] }, await createBackend({ prefer: 'wasm-simd', threads }));
      await m.fit(mnistLike, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.001 });
      runs.push(m.readParams());
    }
    expect(sameBits(runs[1], runs[0])).toBe(true);
  });
});

// ---- (d) files and checkpoints ---------------------------------------------------------------------------

describe('CNN model files and checkpoints', () => {
  const data = synthetic(50, 144, 4, 2);
  const layers = [conv2d(4, 3, { padding: 'same', activation: 'relu' }), batchNorm(), maxPool2d(2), conv2d(6, 3, { activation: 'relu' }), globalAvgPool(), batchNorm({ momentum: 0.8 }), dense(4)];
  const cfg = { layers, inputShape: [12, 12], seed: 6 };
  const opts = { batchSize: 16, optimizer: 'momentum' as const, learningRate: 0.05 };

  it('save -> load -> predict gives the same bits, the running statistics included', async () => {
    const be = await createBackend({ prefer: 'wasm-simd' });
    const m = new Model(cfg, be);
    await m.fit(data, { ...opts, epochs: 2 });
    const buffers = m.readBuffers();
    expect(buffers.some((v, i) => v !== 0 && v !== 1 && i < 4)).toBe(true); // the running statistics moved
    const bytes = encodeModel(m.config, m.getLayerTensors(), { note: 'cnn' });
    const saved = decodeModel(bytes, 'cnn.simdnet');
    expect(saved.description).toEqual(m.config.model);
    expect(Object.keys(saved.tensors)).toContain('layers.5.variance');
    const copy = new Model(saved.config, be);
    copy.setLayerTensors(saved.tensors);
    expect(sameBits(copy.readBuffers(), buffers)).toBe(true);
    expect(sameBits(copy.predict(data.images), m.predict(data.images))).toBe(true);
    // the running statistics matter: a copy without them predicts otherwise
    const fresh = new Model(saved.config, be);
    fresh.writeParams(m.readParams());
    expect(sameBits(fresh.predict(data.images), m.predict(data.images))).toBe(false);
  });

  it('a diverging CNN run stops with one line and leaves finite weights and running statistics; evaluate() works from a callback during fit()', async () => {
    const be = await createBackend({ prefer: 'wasm-simd' });
    const m = new Model(cfg, be);
    let during = NaN;
    await m.fit(data, { ...opts, epochs: 1, callbacks: { onBatchEnd: (b) => { if (b === 1) during = m.evaluate(data).accuracy; } } });
    expect(during).toBeGreaterThanOrEqual(0);
    let err: unknown = null;
    try {
      await m.fit(data, { epochs: 3, batchSize: 16, optimizer: 'sgd', learningRate: 1e30 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as Error).message).toMatch(/^training diverged in epoch \d+, batch \d+: .*the last weights with finite outputs are/);
    expect((err as Error).message).not.toContain('\n');
    expect(m.readParams().every(Number.isFinite)).toBe(true);
    expect(m.readBuffers().every(Number.isFinite)).toBe(true);
    expect(m.predict(data.images).every(Number.isFinite)).toBe(true);
  });

  it('evaluate() and predict() alone plan no gradient buffers; a fit() afterwards plans them and trains as a fresh model does', async () => {
    const be = await createBackend({ prefer: 'wasm-simd' });
    const m = new Model(cfg, be);
    const base = be.mark();
    m.evaluate(data, { batchSize: 50 });
    const inference = m.planSize(50, 'none', [data], null, false), training = m.planSize(50, 'none', [data]);
    expect(be.mark() - base).toBe(inference);
    // two gradient buffers of the widest layer (12x12x4) for 50 rows
    expect(training - inference).toBe(2 * 50 * 12 * 12 * 4 * 4);
    await m.fit(data, { ...opts, epochs: 1, batchSize: 50 });
    const fresh = new Model(cfg, be);
    await fresh.fit(data, { ...opts, epochs: 1, batchSize: 50 });
    expect(sameBits(m.readParams(), fresh.readParams())).toBe(true);
  });

  it('checkpoint -> resume continues bit for bit (parameters, optimizer state and running statistics)', async () => {
    const be = await createBackend({ prefer: 'wasm-simd' });
    const full = new Model(cfg, be);
    await full.fit(data, { ...opts, epochs: 3 });
    // interrupted inside the second epoch (batch 2 of 4), its state through a checkpoint file's bytes
    const part = new Model(cfg, be);
    let st: TrainState | null = null;
    try {
      await part.fit(data, { ...opts, epochs: 3, shouldStop: () => part.step === 6 });
    } catch (e) {
      st = (e as InterruptedError).state;
    }
    expect(st?.batchInEpoch).toBe(2);
    const back = decodeCheckpoint(encodeCheckpoint(st!), 'ck');
    expect(back.buffers!.length).toBe(part.bufferCount);
    expect(sameBits(back.buffers!, part.readBuffers())).toBe(true);
    const resumed = new Model(cfg, be);
    await resumed.fit(data, { ...opts, epochs: 3, resume: back });
    expect(sameBits(resumed.readParams(), full.readParams())).toBe(true);
    expect(sameBits(resumed.readBuffers(), full.readBuffers())).toBe(true);
    // a checkpoint without the running statistics does not resume this network
    await expect(new Model(cfg, be).fit(data, { ...opts, epochs: 3, resume: { ...back, buffers: new Float32Array(0) } })).rejects.toThrow(/checkpoint holds 0 buffer values \(running statistics\); this model needs \d+/);
  });
});

// ---- refusals: one line naming the layer and what to do ----------------------------------------------------

describe('bad CNN lists, files and plans', () => {
  const refuse = (layers: unknown[], input: number[], re: RegExp) => {
    let err: unknown = null;
    try {
      resolveConfig({ layers: layers as LayerSpec[], inputShape: input });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('\n');
  };

  it('layer lists that do not chain, or with bad fields, are one UsageError line naming the layer', () => {
    refuse([conv2d(4, 3), dense(2)], [784], /^layer 1 \(conv2d\) needs an image input \[H, W\] or \[H, W, C\], but its input is \[784\]: give the model an image inputShape/);
    refuse([conv2d(4, 3), flatten(), maxPool2d(2), dense(2)], [8, 8], /^layer 3 \(maxpool2d\) needs an image input .* its input is \[144\]/);
    refuse([conv2d(4, 7), dense(2)], [5, 5], /^layer 1 \(conv2d\): a 7x7 window does not fit its \[5x5x1\] input with 'valid' padding: use a smaller kernel, 'same' padding/);
    refuse([conv2d(4, 3), maxPool2d(2), maxPool2d(2), maxPool2d(2), dense(2)], [6, 6], /^layer 4 \(maxpool2d\): a 2x2 window does not fit its \[1x1x4\] input/);
    refuse([{ type: 'conv2d', filters: 3, kernel: [3, 0] }, dense(2)], [5, 5], /^layer 1: conv2d kernel must be a size from 1 to 4096 or \[height, width\]/);
    refuse([{ type: 'conv2d', filters: 0, kernel: 3 }, dense(2)], [5, 5], /^layer 1: conv2d filters must be an integer from 1 to 16777216, got 0/);
    refuse([{ type: 'conv2d', filters: 3, kernel: 3, padding: 'full' }, dense(2)], [5, 5], /^layer 1: padding must be 'valid' or 'same', got "full"/);
    refuse([maxPool2d(2, { stride: 0 }), dense(2)], [5, 5], /^layer 1: maxpool2d stride must be an integer from 1 to 4096, got 0/);
    refuse([batchNorm({ momentum: 1 }), dense(2)], [5], /^layer 1: batchnorm momentum must be in \[0, 1\)/);
    refuse([batchNorm({ epsilon: 0 }), dense(2)], [5], /^layer 1: batchnorm epsilon must be in \(0, 1\]/);
    refuse([conv2d(2048, 3), dense(2)], [512, 512], /^layer 1 \(conv2d\): its output \[510x510x2048\] holds 532684800 values per example, more than 268435456/);
    refuse([conv2d(4096, 64), globalAvgPool(), dense(2)], [64, 64, 64], /^layer 1 \(conv2d\): its W \[64x64x64x4096\] holds 1073741824 values, more than 268435456/);
    refuse([{ type: 'conv' }, dense(2)], [5, 5], /^layer 1: unknown layer type "conv": use dense, activation, dropout, conv2d, maxpool2d, avgpool2d, globalavgpool, flatten, batchnorm$/);
    // 'same' padding always fits; a plain object takes the defaults of the factories
    expect(resolveConfig({ layers: [{ type: 'conv2d', filters: 2, kernel: 9, padding: 'same' }, { type: 'maxpool2d', size: 3 }, { type: 'batchnorm' }, { type: 'avgpool2d' }, dense(2)], inputShape: [8, 8] }).model.layers.slice(0, 4)).toEqual([conv2d(2, 9, { padding: 'same' }), maxPool2d(3), batchNorm(), avgPool2d(2)]);
  });

  it('model files whose CNN does not chain, with absurd sizes or a negative running variance are one DataError line', () => {
    const m = new Model({ layers: [conv2d(3, 3, { activation: 'relu' }), batchNorm(), maxPool2d(2), flatten(), dense(2)], inputShape: [6, 6] }, new TsBackend());
    const good = encodeModel(m.config, m.getLayerTensors());
    const cases: [string, (h: any) => void, RegExp][] = [
      ['a flat input', (h) => { h.model.input = [36]; }, /corrupt header: layer 1 \(conv2d\) needs an image input/],
      ['a kernel larger than the input', (h) => { h.model.layers[0].kernel = [7, 3]; }, /corrupt header: layer 1 \(conv2d\): a 7x3 window does not fit its \[6x6x1\] input/],
      ['more channels than the weights', (h) => { h.model.input = [6, 6, 2]; }, /layer 1: weights missing or of the wrong size/],
      ['absurd filters', (h) => { h.model.layers[0].filters = 2 ** 24; h.model.input = [8, 8]; }, /corrupt header: layer 1 \(conv2d\): its output \[6x6x16777216\] holds 603979776 values per example, more than 268435456/],
      ['an absurd kernel', (h) => { h.model.layers[0].kernel = [5000, 3]; }, /corrupt header: layer 1: conv2d kernel must be a size from 1 to 4096/],
      ['a window that empties the image', (h) => { h.model.layers[2].size = 5; }, /corrupt header: layer 3 \(maxpool2d\): a 5x5 window does not fit its \[4x4x3\] input/],
      ['a stray buffer', (h) => { h.tensors[2].name = 'layers.0.mean'; }, /corrupt header: tensor "layers\.0\.mean" belongs to no layer of the input 6x6, conv 3 3x3 relu, batchnorm, maxpool 2, flatten, dense 2 network/],
    ];
    for (const [what, edit, re] of cases) {
      let err: unknown = null;
      try {
        decodeModel(withHeader(good.slice(), edit), 'cnn.simdnet');
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(DataError);
      expect((err as Error).message, what).toMatch(re);
      expect((err as Error).message, what).not.toContain('\n');
    }
    // a negative running variance (the data section: layers.1.variance is the sixth tensor)
    const t = m.getLayerTensors();
    t['layers.1.variance'][1] = -0.5;
    expect(() => decodeModel(encodeModel(m.config, t), 'cnn.simdnet')).toThrow(/layer 2's running variance holds -0\.5, below 0; the model is unusable/);
  });

  it('a plan over the 4 GiB wasm memory is refused before training with one line', async () => {
    const m = new Model({ layers: [conv2d(512, 3, { padding: 'same' }), globalAvgPool(), dense(10)], inputShape: [28, 28] }, await createBackend({ prefer: 'wasm-simd' }));
    const data = synthetic(5000, 784, 10, 1);
    const before = m.readParams();
    let err: unknown = null;
    try {
      await m.fit(data, { batchSize: 4096 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimdnetError);
    expect((err as Error).message).toMatch(/^this network with batch size 4096 needs \d+ bytes \(\d+\.\d\d GiB\) of WebAssembly memory, more than the 4 GiB a wasm32 memory can hold; use a smaller batch size, network or dataset$/);
    expect(m.step).toBe(0);
    expect(sameBits(m.readParams(), before)).toBe(true);
  });
});
