import { describe, expect, it } from 'vitest';
import { learningRateAt, checkSchedule } from '../src/train/schedule.js';

describe('learning-rate schedules (closed form)', () => {
  it('constant', () => {
    for (let e = 0; e < 5; e++) expect(learningRateAt(undefined, 0.1, e, 5)).toBe(0.1);
  });
  it('step halves every 2 epochs', () => {
    const r = [0, 1, 2, 3, 4].map((e) => learningRateAt({ type: 'step', stepSize: 2, gamma: 0.5 }, 0.1, e, 5));
    expect(r).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });
  it('cosine starts at lr and goes towards minLr', () => {
    const c = { type: 'cosine' as const, minLr: 0.01 };
    expect(learningRateAt(c, 0.1, 0, 4)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(c, 0.1, 2, 4)).toBeCloseTo(0.055, 12);
    expect(learningRateAt(c, 0.1, 3, 4)).toBeCloseTo(0.01 + 0.09 * (1 + Math.cos((3 * Math.PI) / 4)) / 2, 12);
  });
  it('linear warm-up combines with cosine', () => {
    const c = { type: 'cosine' as const, warmup: 3 };
    expect([0, 1, 2].map((e) => learningRateAt(c, 0.2, e, 7))).toEqual([0.05, 0.1, 0.15000000000000002]);
    expect(learningRateAt(c, 0.2, 3, 7)).toBeCloseTo(0.2, 12);
    expect(learningRateAt(c, 0.2, 5, 7)).toBeCloseTo(0.1, 12);
  });
  it('rejects bad settings', () => {
    expect(() => checkSchedule({ type: 'bogus' as never })).toThrow(/unknown learning-rate schedule/);
    expect(() => checkSchedule({ stepSize: 0 })).toThrow(/step size/);
    expect(() => checkSchedule({ gamma: 1.5 })).toThrow(/gamma/);
    expect(() => checkSchedule({ warmup: -1 })).toThrow(/warm-up/);
  });
});

describe('schedule and backend options given the wrong way', () => {
  it('a schedule given as a string, a cosine minLr above the rate, and createBackend given a bare name are one UsageError line each (they silently meant constant, a rising rate, and auto)', async () => {
    const { Model } = await import('../src/train/model.js');
    const { TsBackend } = await import('../src/backends/ts/index.js');
    const { createBackend } = await import('../src/backends/index.js');
    const { synthetic } = await import('./helpers/synthetic.js');
    const m = new Model({ layers: [30, 4], seed: 1 }, new TsBackend());
    const d = synthetic(20, 30, 4, 1);
    await expect(m.fit(d, { schedule: 'cosine' as never })).rejects.toThrow(/^schedule must be an object such as \{ type: 'cosine' \}, got "cosine"$/);
    await expect(m.fit(d, { learningRate: 0.01, schedule: { type: 'cosine', minLr: 0.1 } })).rejects.toThrow(/^the cosine schedule's minimum learning rate 0\.1 is above the learning rate 0\.01: give a minLr below it$/);
    expect(m.epochsDone).toBe(0);
    await expect(createBackend('ts' as never)).rejects.toThrow(/^createBackend takes options, such as createBackend\(\{ prefer: 'ts' \}\), got "ts"$/);
    expect(() => checkSchedule(null as never)).toThrow(/schedule must be an object/);
  });
});

describe('a per-batch schedule', () => {
  it('rates every batch at its fractional epoch: cosine over 2 epochs of 3 batches is the same run as 6 one-batch fit() calls at lr (1 + cos(pi k / 6)) / 2', async () => {
    const { Model } = await import('../src/train/model.js');
    const { TsBackend } = await import('../src/backends/ts/index.js');
    const { synthetic } = await import('./helpers/synthetic.js');
    const d = synthetic(30, 12, 3, 5);
    const a = new Model({ layers: [12, 8, 3], seed: 2 }, new TsBackend());
    const h = await a.fit(d, { epochs: 2, batchSize: 10, optimizer: 'sgd', learningRate: 0.4, shuffle: false, schedule: { type: 'cosine', perBatch: true } });
    expect(h.epochs.map((e) => e.learningRate)).toEqual([0.4, learningRateAt({ type: 'cosine' }, 0.4, 1, 2)]);
    const b = new Model({ layers: [12, 8, 3], seed: 2 }, new TsBackend());
    for (let k = 0; k < 6; k++) {
      const i = k % 3;
      const slice = { ...d, images: d.images.subarray(i * 10 * 12, (i + 1) * 10 * 12), labels: d.labels.subarray(i * 10, (i + 1) * 10), count: 10 };
      await b.fit(slice, { epochs: 1, batchSize: 10, optimizer: 'sgd', learningRate: (0.4 * (1 + Math.cos((Math.PI * k) / 6))) / 2, shuffle: false });
    }
    expect(Array.from(a.readParams())).toEqual(Array.from(b.readParams()));
    // per epoch (the default), the same run differs: the rate is 0.4 for all of epoch 1
    const c = new Model({ layers: [12, 8, 3], seed: 2 }, new TsBackend());
    await c.fit(d, { epochs: 2, batchSize: 10, optimizer: 'sgd', learningRate: 0.4, shuffle: false, schedule: { type: 'cosine' } });
    expect(Array.from(c.readParams())).not.toEqual(Array.from(a.readParams()));
  });
  it('is resolved only when true, so checkpoints made before it stay resumable, and refuses a non-boolean', () => {
    expect(checkSchedule({ type: 'cosine' })).not.toHaveProperty('perBatch');
    expect(checkSchedule({ type: 'cosine', perBatch: false })).not.toHaveProperty('perBatch');
    expect(checkSchedule({ type: 'cosine', perBatch: true }).perBatch).toBe(true);
    expect(() => checkSchedule({ perBatch: 'yes' as never })).toThrow(/^schedule perBatch must be true or false, got "yes"$/);
  });
});
