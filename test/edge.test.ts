/**
 * Edge cases of whole fit() / evaluate() / predict() runs found by an audit: shapes and values at
 * the limits of what the model accepts, on every backend.
 */
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/format/checkpoint.js';
import { Model, type DataSet } from '../src/train/model.js';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';

describe('labels beyond a byte', () => {
  it('a model of more than 256 classes refuses labels >= 256 (the resident labels are bytes: 299 trained as 43) with one line', async () => {
    const ds = synthetic(20, 10, 3, 1);
    const labels = new Uint16Array(20);
    for (let i = 0; i < 20; i++) labels[i] = i % 2 ? 299 : 43;
    const data = { ...ds, labels } as unknown as DataSet;
    for (const b of BACKENDS) {
      const m = new Model({ layers: [10, 4, 300], seed: 1 }, await b.create());
      await expect(m.fit(data, { epochs: 1, batchSize: 4 }), b.name).rejects.toThrow(/^training data: label 299 at index 1 does not fit in a byte: labels are kept as bytes, so only classes 0\.\.255 can be trained or evaluated/);
      expect(() => m.evaluate(data), b.name).toThrow(/^data: label 299 at index 1 does not fit in a byte/);
      // labels 0..255 of the same model are fine
      await m.fit({ ...ds, labels: labels.map((y) => y % 256) } as unknown as DataSet, { epochs: 1, batchSize: 4 });
    }
  });
});

describe('early stopping and a NaN validation loss', () => {
  it('a NaN validation loss is never the best epoch: a later finite one is kept, and every checkpoint reads back', async () => {
    // training images are zeros, validation images 255: huge first-layer weights (of both signs) make
    // the linear hidden layer +-Inf on validation only (NaN logits) until weight decay shrinks them
    const C = 40, N = 6;
    const labels = Uint8Array.from({ length: N }, (_, i) => i % 2);
    const train: DataSet = { images: new Uint8Array(N * C), labels, count: N, features: C };
    const val: DataSet = { images: new Uint8Array(N * C).fill(255), labels, count: N, features: C };
    for (const b of BACKENDS) {
      const m = new Model({ layers: [C, 2, 2], activation: 'linear', seed: 1 }, await b.create());
      m.setWeights([{ W: Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -3.4e38 : 3.4e38)), b: new Float32Array(2) }, { W: new Float32Array([1, 1, 1, 1]), b: new Float32Array(2) }]);
      const states: TrainState[] = [];
      const h = await m.fit(train, { epochs: 4, batchSize: N, learningRate: 1, weightDecay: 0.9, validationData: val, earlyStopping: { patience: 2 }, checkpoint: { write: (s) => states.push(s) } });
      expect(Number.isNaN(h.epochs[0].valLoss), b.name).toBe(true);
      expect(Number.isFinite(h.epochs[1].valLoss), b.name).toBe(true);
      expect(h.bestEpoch, b.name).toBe(2); // was 1: NaN < x is false, so no later epoch could beat it
      expect(Number.isFinite(m.evaluate(val).loss), b.name).toBe(true);
      for (const s of states) expect(() => decodeCheckpoint(encodeCheckpoint(s), 'mem'), b.name).not.toThrow(); // best.loss NaN was written as null: 'bad early-stopping state'
    }
  });
});

describe('Adam epsilon', () => {
  it('epsilon 0 (or below the smallest float32) is a one-line UsageError, not a "diverged, lower the learning rate" on the first batch (0 / 0 for weights whose gradient is always 0)', async () => {
    const ds = synthetic(20, 10, 3, 1);
    const images = ds.images.slice();
    for (let i = 0; i < ds.count; i++) images[i * 10] = 0; // input 0 is always blank: its weights' gradient is 0
    for (const b of BACKENDS) {
      const m = new Model({ layers: [10, 4, 3], seed: 1 }, await b.create());
      for (const epsilon of [0, 1e-46]) {
        await expect(m.fit({ ...ds, images }, { epochs: 1, batchSize: 4, optimizer: 'adam', epsilon }), `${b.name} ${epsilon}`).rejects.toThrow(/^epsilon must be a positive number of at least 1\.4e-45 \(the smallest float32\), got /);
      }
      expect(m.step, b.name).toBe(0);
      const h = await m.fit({ ...ds, images }, { epochs: 1, batchSize: 4, optimizer: 'adam', epsilon: 1e-45 });
      expect(Number.isFinite(h.epochs[0].loss), b.name).toBe(true);
    }
  });
});

describe('initial weights', () => {
  it("an initScale whose 'normal' weights would overflow float32 is a one-line UsageError, not a model of Infinity weights whose first batch 'diverged'", async () => {
    const be = await BACKENDS[0].create();
    for (const initScale of [3e38, 1e39]) expect(() => new Model({ layers: [30, 3, 2], init: 'normal', initScale, seed: 1 }, be), String(initScale)).toThrow(/^initScale must be a positive number of at most 5e37 \(larger initial weights overflow float32\), got /);
    // the largest accepted scale gives finite weights for every seed tried
    for (let seed = 0; seed < 20; seed++) expect(new Model({ layers: [30, 40, 2], init: 'normal', initScale: 5e37, seed }, be).readParams().every(Number.isFinite)).toBe(true);
  });
});

describe('the last update of a run', () => {
  it('whose finite weights overflow in the forward pass is a DivergenceError, not a model that predicts NaN', async () => {
    // one batch (the whole set) in one epoch: its update is the run's last; large equal weights give a
    // finite loss (ln 2), and lr 1e10 makes them ~1e25, whose products overflow float32 in the forward
    const images = new Uint8Array(8 * 4).fill(255), labels = new Uint8Array(8); // one class: a gradient that does not cancel
    const data: DataSet = { images, labels, count: 8, features: 4 };
    for (const b of BACKENDS) {
      const m = new Model({ layers: [4, 3, 2], activation: 'linear', seed: 1 }, await b.create());
      m.setWeights([{ W: new Float32Array(12).fill(1e15), b: new Float32Array(3) }, { W: new Float32Array(6).fill(1e15), b: new Float32Array(2) }]);
      expect(Number.isFinite(m.evaluate(data).loss), b.name).toBe(true);
      const err = await m.fit(data, { epochs: 1, batchSize: 8, learningRate: 1e10 }).then(() => null, (e) => e);
      expect(err?.message, b.name).toMatch(/^training diverged in epoch 1, batch 1: after the last update the loss on that batch is (NaN|Infinity) \(the weights are finite but overflow in the forward pass\); the last weights with finite outputs are the initial weights \(before any training\); the likely cause is the learning rate 10000000000; try a lower one$/);
      // the model holds the weights it started from, which predict finite values
      expect(err.kept).toBe('the initial weights (before any training)');
      expect(err.partial).toBe(false);
      expect(m.readParams().every(Number.isFinite), b.name).toBe(true);
      expect(m.predict(images).every(Number.isFinite), b.name).toBe(true);
    }
  });
});

describe('dropout in a very deep network', () => {
  it('beyond the 64th hidden layer is refused with one line (its masks would repeat the next step\'s first layer\'s); a rate of 0 there is fine', async () => {
    const { TsBackend } = await import('../src/backends/ts/index.js');
    const layers = [4, ...new Array<number>(65).fill(3), 2];
    expect(() => new Model({ layers, dropout: 0.1, seed: 1 }, new TsBackend())).toThrow(/^dropout works on the first 64 hidden layers; this network has 65: give the deeper layers a rate of 0$/);
    const rates = new Array<number>(65).fill(0.1);
    rates[64] = 0;
    expect(() => new Model({ layers, dropout: rates, seed: 1 }, new TsBackend())).not.toThrow();
  });
});
