import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ActivationName } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { loadMnist } from '../src/io/mnist.js';
import { Model, type LossName } from '../src/train/model.js';
import { PRESETS } from '../src/train/presets.js';
import type { OptimizerName } from '../src/train/train.js';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';

const GOLDEN = new URL('./golden.json', import.meta.url);

const CASES: { name: string; layers: number[]; activation: ActivationName; loss: LossName; optimizer: OptimizerName; lr: number }[] = [
  { name: 'sigmoid-ce-sgd', layers: [7, 5, 3], activation: 'sigmoid', loss: 'ce', optimizer: 'sgd', lr: 0.5 },
  { name: 'relu-ce-momentum', layers: [7, 9, 6, 3], activation: 'relu', loss: 'ce', optimizer: 'momentum', lr: 0.05 },
  { name: 'tanh-mse-adam', layers: [7, 17, 3], activation: 'tanh', loss: 'mse', optimizer: 'adam', lr: 0.01 },
  { name: 'sigmoid-mse-nesterov', layers: [7, 10, 3], activation: 'sigmoid', loss: 'mse', optimizer: 'nesterov', lr: 0.5 },
  { name: 'relu-ce-adamw', layers: [7, 4, 3], activation: 'relu', loss: 'ce', optimizer: 'adamw', lr: 0.01 },
];

async function goldenRun(backendName: string, c: (typeof CASES)[number]): Promise<number[]> {
  const backend = await BACKENDS.find((b) => b.name === backendName)!.create();
  const data = synthetic(53, 7, 3, 11);
  const model = new Model({ layers: c.layers, activation: c.activation, loss: c.loss, seed: 3 }, backend);
  const h = await model.fit(data, { epochs: 4, batchSize: 8, optimizer: c.optimizer, learningRate: c.lr, weightDecay: c.optimizer === 'adamw' ? 0.01 : 0 });
  return h.epochs.map((e) => e.loss);
}

describe('golden few-step run', () => {
  it('the TS reference matches the stored loss sequences', async () => {
    const got: Record<string, number[]> = {};
    for (const c of CASES) got[c.name] = await goldenRun('ts', c);
    // regenerate deliberately with SIMDNET_UPDATE_GOLDEN=1 (and review the diff)
    if (process.env.SIMDNET_UPDATE_GOLDEN) writeFileSync(GOLDEN, JSON.stringify(got, null, 2) + '\n');
    expect(existsSync(GOLDEN), 'test/golden.json is missing: run with SIMDNET_UPDATE_GOLDEN=1').toBe(true);
    const stored = JSON.parse(readFileSync(GOLDEN, 'utf8'));
    for (const c of CASES) {
      expect(got[c.name].length).toBe(4);
      got[c.name].forEach((l, i) => expect(l, `${c.name} epoch ${i + 1}`).toBeCloseTo(stored[c.name][i], 5));
      // it learns: the loss falls
      expect(got[c.name][3]).toBeLessThan(got[c.name][0]);
    }
  });

  for (const b of BACKENDS.filter((b) => b.name !== 'ts')) {
    it(`${b.name} matches the TS reference's loss sequence`, async () => {
      for (const c of CASES) {
        const ref = await goldenRun('ts', c);
        const got = await goldenRun(b.name, c);
        got.forEach((l, i) => expect(Math.abs(l - ref[i]), `${c.name} epoch ${i + 1}: ${l} vs ${ref[i]}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i]))));
      }
    });
  }
});

describe('determinism', () => {
  for (const b of BACKENDS.slice(0, 3)) {
    it(`${b.name}: the same seed gives bit-identical weights on rerun`, async () => {
      const data = synthetic(200, 30, 4, 5);
      const run = async (seed: number) => {
        const m = new Model({ layers: [30, 17, 4], activation: 'relu', seed }, await b.create());
        await m.fit(data, { epochs: 2, batchSize: 16, optimizer: 'adam' });
        return m.getWeights();
      };
      const a = await run(7), a2 = await run(7), c = await run(8);
      a.forEach((w, l) => {
        expect(Buffer.from(w.W.buffer).equals(Buffer.from(a2[l].W.buffer))).toBe(true);
        expect(Buffer.from(w.b.buffer).equals(Buffer.from(a2[l].b.buffer))).toBe(true);
      });
      expect(Buffer.from(a[0].W.buffer).equals(Buffer.from(c[0].W.buffer))).toBe(false);
    });
  }
});

describe('model API', () => {
  it('evaluate returns a consistent confusion matrix and per-class accuracy', async () => {
    const train = synthetic(300, 20, 5, 1), test = synthetic(100, 20, 5, 2);
    const m = new Model({ layers: [20, 12, 5], activation: 'tanh', seed: 1 }, new TsBackend());
    await m.fit(train, { epochs: 3, batchSize: 10, optimizer: 'momentum', learningRate: 0.05 });
    const e = m.evaluate(test);
    expect(e.count).toBe(100);
    expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(100);
    expect(e.confusion.reduce((a, r, i) => a + r[i], 0)).toBe(e.correct);
    expect(e.accuracy).toBeCloseTo(e.correct / 100, 12);
    expect(e.accuracy).toBeGreaterThan(0.9);
    const preds = m.predictClasses(test.images, test.count);
    expect(preds.reduce((a, p, i) => a + (p === test.labels[i] ? 1 : 0), 0)).toBe(e.correct);
    const probs = m.predict(test.images.subarray(0, 20 * 3), 3);
    for (let i = 0; i < 3; i++) expect(probs.subarray(i * 5, i * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('refuses a second fit() while one is running', async () => {
    const data = synthetic(2000, 20, 3, 1);
    const m = new Model({ layers: [20, 8, 3], seed: 1 }, new TsBackend());
    const first = m.fit(data, { epochs: 2, yieldMs: 0 });
    await expect(m.fit(data)).rejects.toThrow(/already training/);
    await first;
  });

  it('refuses data whose size or labels do not fit the model, naming both numbers', async () => {
    const m = new Model({ layers: [20, 8, 3], seed: 1 }, new TsBackend());
    await expect(m.fit(synthetic(50, 21, 3, 1))).rejects.toThrow(/21 features.*20 inputs/);
    await expect(m.fit(synthetic(50, 20, 5, 1))).rejects.toThrow(/label \d at index \d+ is out of range.*3 classes/);
  });

  it('rejects invalid options with one-line messages', async () => {
    const data = synthetic(50, 20, 3, 1);
    const m = new Model({ layers: [20, 8, 3] }, new TsBackend());
    await expect(m.fit(data, { learningRate: -1 })).rejects.toThrow(/learning rate must be a positive number/);
    await expect(m.fit(data, { batchSize: 0 })).rejects.toThrow(/batch size must be a positive integer/);
    expect(() => new Model({ layers: [20, 0, 3] }, new TsBackend())).toThrow(/positive integers/);
    expect(() => new Model({ layers: [20, 8, 3], activation: 'swish' as ActivationName }, new TsBackend())).toThrow(/unknown activation 'swish'/);
  });
});

describe('the real MNIST', () => {
  it("the article's network (preset article) on wasm SIMD reaches >= 97.0% on the 10,000 test images", async () => {
    const data = loadMnist();
    const p = PRESETS.article.settings;
    const model = new Model({ layers: [data.features, ...p.hidden!, data.classes], activation: p.activation, loss: p.loss, seed: 1 }, await WasmBackend.create('simd'));
    const h = await model.fit(data.train, { epochs: p.epochs, batchSize: p.batchSize, optimizer: p.optimizer, learningRate: p.lr, momentum: p.momentum });
    expect(h.epochs.length).toBe(p.epochs);
    const test = model.evaluate(data.test);
    expect(test.count).toBe(10000);
    console.log(`article preset: test accuracy ${(test.accuracy * 100).toFixed(2)}% after ${p.epochs} epochs, median ${Math.round(h.epochs.map((e) => e.epochMs).sort((a, b) => a - b)[p.epochs >> 1])} ms/epoch`);
    expect(test.accuracy).toBeGreaterThanOrEqual(0.97);
  });
});

describe('early stopping', () => {
  it('stops when the validation loss stalls and restores the best epoch\'s weights', async () => {
    // half the training labels scrambled: the net memorises them and the validation loss turns up
    const train = synthetic(120, 20, 4, 1, 90), val = synthetic(200, 20, 4, 9, 120);
    for (let i = 0; i < train.count; i += 2) train.labels[i] = (i * 7 + 1) % 4;
    const m = new Model({ layers: [20, 32, 4], activation: 'relu', seed: 2 }, new TsBackend());
    const snapshots: Float32Array[] = [];
    const h = await m.fit(train, {
      epochs: 60, batchSize: 8, optimizer: 'adam', learningRate: 0.02, validationData: val, earlyStopping: { patience: 3 },
      callbacks: { onEpochEnd: () => void snapshots.push(m.readParams()) },
    });
    const losses = h.epochs.map((e) => e.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(h.bestEpoch).toBe(best);
    expect(h.stoppedEarly).toBe(true); // this seeded run overfits long before 60 epochs
    expect(h.epochs.length).toBe(best + 3);
    expect(Buffer.from(m.readParams().buffer).equals(Buffer.from(snapshots[best - 1].buffer))).toBe(true);
    expect(m.evaluate(val).loss).toBeCloseTo(losses[best - 1], 6);
  });

  it('needs validation data', async () => {
    const m = new Model({ layers: [20, 8, 3] }, new TsBackend());
    await expect(m.fit(synthetic(50, 20, 3, 1), { earlyStopping: { patience: 2 } })).rejects.toThrow(/early stopping needs validation data/);
  });
});

describe('the fast preset on the real MNIST', () => {
  it('reaches >= 97.0% test accuracy in at most 2 epochs (wasm SIMD)', async () => {
    const data = loadMnist();
    const p = PRESETS.fast.settings;
    expect(p.epochs).toBeLessThanOrEqual(2);
    const model = new Model({ layers: [data.features, ...p.hidden!, data.classes], activation: p.activation, loss: p.loss, seed: 1 }, await WasmBackend.create('simd'));
    await model.fit(data.train, { epochs: p.epochs, batchSize: p.batchSize, optimizer: p.optimizer, learningRate: p.lr });
    const test = model.evaluate(data.test);
    console.log(`fast preset: test accuracy ${(test.accuracy * 100).toFixed(2)}% after ${p.epochs} epochs`);
    expect(test.accuracy).toBeGreaterThanOrEqual(0.97);
  });
});

describe('dropout in training', () => {
  async function run(name: string, seed = 3) {
    const be = await BACKENDS.find((b) => b.name === name)!.create();
    const m = new Model({ layers: [7, 16, 12, 3], activation: 'relu', seed, dropout: [0.3, 0.5] }, be);
    const h = await m.fit(synthetic(53, 7, 3, 11), { epochs: 3, batchSize: 8, optimizer: 'adam', learningRate: 0.01 });
    return { losses: h.epochs.map((e) => e.loss), params: m.readParams(), m };
  }
  it('every backend drops the same units: wasm matches the TS loss sequence; reruns are bit-identical', async () => {
    const ref = await run('ts');
    for (const b of BACKENDS) {
      const a = await run(b.name), again = await run(b.name);
      a.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]), `${b.name} epoch ${i + 1}`).toBeLessThan(1e-4 * Math.max(1, ref.losses[i])));
      expect(Buffer.from(a.params.buffer).equals(Buffer.from(again.params.buffer)), b.name).toBe(true);
    }
    const other = await run('ts', 4);
    expect(Buffer.from(other.params.buffer).equals(Buffer.from(ref.params.buffer))).toBe(false);
  });
  it('is off at evaluation: the same data evaluates to the same loss twice', async () => {
    const { m } = await run('wasm-simd');
    const d = synthetic(40, 7, 3, 12);
    expect(m.evaluate(d).loss).toBe(m.evaluate(d).loss);
    await expect(Model.create({ layers: [7, 4, 3], dropout: 1 }, { backend: 'ts' })).rejects.toThrow(/dropout rates must be in \[0, 1\)/);
  });
});

describe('fit() called again continues the run (issue 23 item 15)', () => {
  it('two calls of one epoch each end bit-identical to one call of two epochs: the sample order, rng and step carry on', async () => {
    const { sameBits } = await import('./helpers/bits.js');
    const data = synthetic(53, 30, 3, 11);
    const cases: { optimizer: OptimizerName; dropout: number; augment: boolean }[] = [
      { optimizer: 'sgd', dropout: 0, augment: false },
      { optimizer: 'momentum', dropout: 0.2, augment: false },
      { optimizer: 'adam', dropout: 0, augment: true },
    ];
    for (const b of BACKENDS) {
      for (const c of cases) {
        const make = async () => new Model({ layers: [30, 9, 3], activation: 'relu', seed: 5, imageShape: [6, 5], dropout: c.dropout }, await b.create());
        const opts = { batchSize: 8, optimizer: c.optimizer, learningRate: c.optimizer === 'adam' ? 0.01 : 0.1, augment: c.augment ? { shift: 1, rotate: 5, scale: 0.05, elastic: 0, sigma: 1 } : undefined };
        const one = await make();
        await one.fit(data, { ...opts, epochs: 2 });
        const two = await make();
        await two.fit(data, { ...opts, epochs: 1 });
        await two.fit(data, { ...opts, epochs: 1 });
        expect(two.step).toBe(one.step);
        expect(sameBits(two.readParams(), one.readParams()), `${b.name} ${JSON.stringify(c)}`).toBe(true);
        // initialize() starts over: the same as a new model's first epoch
        two.initialize();
        await two.fit(data, { ...opts, epochs: 1 });
        const fresh = await make();
        await fresh.fit(data, { ...opts, epochs: 1 });
        expect(sameBits(two.readParams(), fresh.readParams()), `${b.name} ${JSON.stringify(c)} after initialize()`).toBe(true);
      }
    }
  });
});
