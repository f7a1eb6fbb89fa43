/**
 * The layer interface: a network built from a mixed list (dense with and without an activation, a
 * standalone activation, dropout) computes what a hand-written reference computes, in evaluation
 * (predict) and in one training step (dropout masks, backward through every layer, SGD), on the TS
 * reference and on wasm SIMD; the list's description round-trips; the shorthand builds the same list.
 */
import { describe, expect, it } from 'vitest';
import { dropoutKeep, dropoutParams } from '../src/core/backend.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/format/checkpoint.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { activation, dense, dropout, denseStack } from '../src/nn/layers.js';
import { Model, resolveConfig } from '../src/train/model.js';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';

const B = 5, IN = 8, SEED = 11, LR = 0.3, SCALE = 1 / 255;
const LIST = [dense(6, 'relu'), dropout(0.25), dense(5), activation('tanh'), dropout(0.5), dense(3)];

/** pixels, 70% zeros: the first layer runs sparse (and SGD takes its fused update) */
function pixels(): Uint8Array {
  const x = new Uint8Array(B * IN);
  for (let i = 0; i < x.length; i++) x[i] = (i * 37) % 10 < 7 ? 0 : 1 + ((i * 91) % 255);
  return x;
}
const labels = Uint8Array.from([0, 2, 1, 2, 0]);

type Mat = { W: Float32Array; b: Float32Array };
/** y (B x n) = x (B x m) W (m x n) + b */
function affine(x: number[], w: Mat, m: number, n: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < B; r++) for (let j = 0; j < n; j++) {
    let s = w.b[j];
    for (let i = 0; i < m; i++) s += x[r * m + i] * w.W[i * n + j];
    y.push(s);
  }
  return y;
}
/** the reference: forward (with dropout when training), softmax cross-entropy, backward, one SGD step */
function reference(ws: Mat[], training: boolean, step = 0) {
  const x = Array.from(pixels(), (p) => p * SCALE);
  const mask = (n: number, rate: number, stream: number) => {
    const { threshold, scale } = dropoutParams(rate);
    return Array.from({ length: B * n }, (_, i) => (!training ? 1 : dropoutKeep(i, (step * 64 + stream) >>> 0, SEED, threshold) ? scale : 0));
  };
  const h1 = affine(x, ws[0], IN, 6).map((v) => Math.max(0, v));
  const m1 = mask(6, 0.25, 0); // dropout after the first dense: stream 0
  const d1 = h1.map((v, i) => v * m1[i]);
  const a2 = affine(d1, ws[1], 6, 5).map(Math.tanh);
  const m2 = mask(5, 0.5, 1); // after the second: stream 1
  const d2 = a2.map((v, i) => v * m2[i]);
  const z = affine(d2, ws[2], 5, 3);
  const p: number[] = [];
  for (let r = 0; r < B; r++) {
    const row = z.slice(r * 3, r * 3 + 3), mx = Math.max(...row), e = row.map((v) => Math.exp(v - mx)), s = e.reduce((a, b) => a + b);
    p.push(...e.map((v) => v / s));
  }
  // backward
  const dz = p.map((v, i) => (v - (labels[Math.floor(i / 3)] === i % 3 ? 1 : 0)) / B);
  const grad = (xin: number[], dout: number[], m: number, n: number) => {
    const dW = new Array(m * n).fill(0), db = new Array(n).fill(0);
    for (let r = 0; r < B; r++) for (let j = 0; j < n; j++) {
      db[j] += dout[r * n + j];
      for (let i = 0; i < m; i++) dW[i * n + j] += xin[r * m + i] * dout[r * n + j];
    }
    return { dW, db };
  };
  const back = (dout: number[], w: Mat, m: number, n: number) => {
    const dx = new Array(B * m).fill(0);
    for (let r = 0; r < B; r++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) dx[r * m + i] += dout[r * n + j] * w.W[i * n + j];
    return dx;
  };
  const g3 = grad(d2, dz, 5, 3);
  const dh2 = back(dz, ws[2], 5, 3).map((v, i) => v * m2[i] * (1 - a2[i] * a2[i]));
  const g2 = grad(d1, dh2, 6, 5);
  const dh1 = back(dh2, ws[1], 6, 5).map((v, i) => v * m1[i] * (h1[i] > 0 ? 1 : 0));
  const g1 = grad(x, dh1, IN, 6);
  const stepped = [g1, g2, g3].map((g, l) => ({ W: ws[l].W.map((v, i) => v - LR * g.dW[i]), b: ws[l].b.map((v, i) => v - LR * g.db[i]) }));
  return { p, stepped };
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThan(2e-6);
};

describe('a network from a mixed layer list', () => {
  for (const b of BACKENDS.slice(0, 2)) {
    it(`${b.name}: predict and one SGD step match the hand-written reference`, async () => {
      const m = new Model({ layers: LIST, inputShape: [2, 4], seed: SEED }, await b.create());
      expect(m.layers.map((l) => l.outShape)).toEqual([[6], [6], [5], [5], [5], [3]]);
      expect(m.dense.length).toBe(3);
      // each layer describes itself as the description lists it
      expect(m.layers.map((l) => l.describe())).toEqual(m.config.model.layers);
      const w0 = m.getWeights();
      // evaluation: dropout is the identity
      close(m.predict(pixels()), reference(w0, false).p, 'probabilities');
      // one training step: batch of all 5 rows in order, SGD (the first layer's fused update when the batch is sparse)
      await m.fit({ images: pixels(), labels, count: B, features: IN }, { epochs: 1, batchSize: B, optimizer: 'sgd', learningRate: LR, shuffle: false });
      const want = reference(w0, true).stepped;
      m.getWeights().forEach((w, l) => {
        close(w.W, want[l].W, `layer ${l + 1} W`);
        close(w.b, want[l].b, `layer ${l + 1} b`);
      });
    });
  }

  it('the description is plain JSON that rebuilds the same model; the shorthand is a layer list', () => {
    const c = resolveConfig({ layers: LIST, inputShape: [2, 4] });
    expect(c.model).toEqual({ input: [2, 4], loss: 'ce', layers: JSON.parse(JSON.stringify(LIST)) });
    expect(resolveConfig({ layers: JSON.parse(JSON.stringify(c.model.layers)), inputShape: c.model.input }).model).toEqual(c.model);
    const short = resolveConfig({ layers: [784, 64, 32, 10], activation: ['relu', 'tanh'], dropout: [0.3, 0] });
    expect(short.model.layers).toEqual([dense(64, 'relu'), dropout(0.3), dense(32, 'tanh'), dense(10)]);
    expect(short.model.input).toEqual([784]);
    expect([short.layers, short.activations, short.dropout]).toEqual([[784, 64, 32, 10], ['relu', 'tanh', 'linear'], [0.3, 0]]);
    // a dense layer followed by an activation layer is the same dense stack
    expect(denseStack({ input: [4], loss: 'ce', layers: [dense(3), activation('relu'), dense(2)] })).toEqual({ layers: [4, 3, 2], activations: ['relu', 'linear'], dropout: [0] });
  });

  it('a list may end in an activation layer (in place on the last dense output): predict matches the reference', async () => {
    const m = new Model({ layers: [dense(3), activation('tanh')], inputShape: [IN], loss: 'mse', seed: 2 }, await BACKENDS[1].create());
    await m.fit({ images: pixels(), labels, count: B, features: IN }, { epochs: 2, batchSize: 2, optimizer: 'sgd', learningRate: 0.1 });
    const [w] = m.getWeights();
    const want = affine(Array.from(pixels(), (p) => p * SCALE), w, IN, 3).map((z) => 1 / (1 + Math.exp(-Math.tanh(z))));
    close(m.predict(pixels()), want, 'sigmoid(tanh(x W + b))');
  });

  it('bad layer lists are refused with one line naming the layer', () => {
    expect(() => resolveConfig({ layers: [dense(4), { type: 'conv' } as never], inputShape: [3] })).toThrow(/layer 2: unknown layer type "conv"/);
    expect(() => resolveConfig({ layers: [dense(0)], inputShape: [3] })).toThrow(/layer 1: dense units must be an integer/);
    expect(() => resolveConfig({ layers: [dense(3), dropout(1)], inputShape: [3] })).toThrow(/layer 2: dropout rates must be in \[0, 1\)/);
    expect(() => resolveConfig({ layers: [dense(3, 'swish' as never)], inputShape: [3] })).toThrow(/layer 1: unknown activation 'swish'/);
    expect(() => resolveConfig({ layers: [dense(3)] })).toThrow(/needs inputShape/);
    expect(() => resolveConfig({ layers: [activation('relu')], inputShape: [3] })).toThrow(/no layer with weights/);
    expect(() => resolveConfig({ layers: [dense(3)], inputShape: [3], activation: 'relu' })).toThrow(/activation and dropout go with the shorthand/);
  });

  it('a layer-list model saves, loads and resumes from a checkpoint bit for bit', async () => {
    const be = await BACKENDS[1].create();
    const data = synthetic(90, IN, 3, 4);
    const opts = { batchSize: 16, optimizer: 'momentum' as const, learningRate: 0.05 };
    const full = new Model({ layers: LIST, inputShape: [2, 4], seed: SEED }, be);
    await full.fit(data, { ...opts, epochs: 3 });
    let ck: TrainState | null = null;
    const part = new Model({ layers: LIST, inputShape: [2, 4], seed: SEED }, be);
    await part.fit(data, { ...opts, epochs: 1, checkpoint: { write: (st) => { ck = st; } } });
    const st = decodeCheckpoint(encodeCheckpoint(ck!), 'ck');
    expect(st.settings.model).toEqual(full.config.model);
    const resumed = new Model({ layers: st.settings.model.layers, inputShape: st.settings.model.input, seed: SEED }, be);
    await resumed.fit(data, { ...opts, epochs: 3, resume: st });
    expect(Buffer.from(resumed.readParams().buffer).equals(Buffer.from(full.readParams().buffer))).toBe(true);
    const saved = decodeModel(encodeModel(full.config, full.getWeights()));
    expect(saved.description).toEqual(full.config.model);
    const copy = new Model(saved.config, be);
    copy.setWeights(saved.weights);
    expect(Buffer.from(copy.predict(data.images).buffer).equals(Buffer.from(full.predict(data.images).buffer))).toBe(true);
  });
});
