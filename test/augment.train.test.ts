/** Augmentation in training: deterministic per backend (with dropout on), backends agree, the sparse path stays exact, checkpoints record it. */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';
import { Model, type DataSet } from '../src/train/model.js';
import { resolveAugment } from '../src/nn/augment.js';
import { checkResumable } from '../src/format/checkpoint.js';
import type { TrainState } from '../src/format/checkpoint.js';

/** sparse 10x10 images: a class-dependent bar on a zero background (well under the sparse density limit) */
function bars(count: number, seed: number): DataSet {
  const d = synthetic(count, 100, 4, seed, 40);
  for (let i = 0; i < count; i++) {
    const c = d.labels[i];
    for (let j = 0; j < 100; j++) {
      const x = j % 10, y = (j / 10) | 0;
      const on = c < 2 ? x === 3 + 3 * c && y > 1 && y < 8 : y === 3 + 3 * (c - 2) && x > 1 && x < 8;
      d.images[i * 100 + j] = on ? d.images[i * 100 + j] : 0;
    }
  }
  return d;
}

const AUG = { shift: 1, rotate: 10, scale: 0.1, elastic: 8, sigma: 2 };

async function run(name: string, seed = 5, augment: object | boolean = AUG) {
  const be = await BACKENDS.find((b) => b.name === name)!.create();
  const m = new Model({ layers: [100, 24, 16, 4], activation: 'relu', seed, dropout: 0.2, imageShape: [10, 10] }, be);
  const h = await m.fit(bars(70, 1), { epochs: 3, batchSize: 16, optimizer: 'adam', learningRate: 0.01, augment });
  return { losses: h.epochs.map((e) => e.loss), params: m.readParams(), m };
}

describe('augmentation in training', () => {
  it('same seed: bit-identical weights on rerun, per backend (augmentation + dropout); backends agree; augmentation changes training', async () => {
    const ref = await run('ts');
    for (const b of BACKENDS) {
      const a = await run(b.name), again = await run(b.name);
      expect(Buffer.from(a.params.buffer).equals(Buffer.from(again.params.buffer)), b.name).toBe(true);
      a.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]), `${b.name} epoch ${i + 1}`).toBeLessThan(1e-4 * Math.max(1, ref.losses[i])));
    }
    const plain = await run('wasm-simd', 5, false);
    expect(Buffer.from(plain.params.buffer).equals(Buffer.from(ref.params.buffer))).toBe(false);
    const other = await run('ts', 6);
    expect(Buffer.from(other.params.buffer).equals(Buffer.from(ref.params.buffer))).toBe(false);
  });

  it('an augmented batch through the sparse first layer gives the probabilities of the dense forward on the warped pixels', async () => {
    for (const name of ['ts', 'wasm-simd']) {
      const be = await BACKENDS.find((b) => b.name === name)!.create();
      const m = new Model({ layers: [100, 12, 4], activation: 'relu', seed: 2, imageShape: [10, 10] }, be);
      const data = bars(40, 3);
      const s = m.plan(16, null, [data], resolveAugment(AUG));
      const r = s.resident.get(data)!;
      m.setOrder(s, Int32Array.from({ length: 40 }, (_, i) => 39 - i));
      m.loadBatch(s, r, 0, 16, true);
      expect(s.sparse, `${name}: this sparse batch runs the sparse path`).not.toBeNull();
      m.forward(s, 16);
      m.lossForward(s, 16);
      const probs = be.read(s.probs).slice(0, 16 * 4);
      const warped = be.read(s.aug!.images);
      expect(warped.some((x, i) => x !== data.images[(39 - Math.floor(i / 100)) * 100 + (i % 100)])).toBe(true);
      // evaluation and predict never augment: predict on the warped pixels gives the same probabilities
      const dense = m.predict(warped, 16);
      for (let i = 0; i < probs.length; i++) expect(Math.abs(probs[i] - dense[i]), `${name} ${i}`).toBeLessThan(1e-5);
      // evaluate is unaugmented: the same loss twice
      expect(m.evaluate(data).loss).toBe(m.evaluate(data).loss);
    }
  });

  it('checkpoints record the augmentation: a resume with other settings is refused', async () => {
    const be = await BACKENDS[1].create();
    const m = new Model({ layers: [100, 8, 4], activation: 'relu', seed: 1, imageShape: [10, 10] }, be);
    let st: TrainState | null = null;
    await m.fit(bars(30, 1), { epochs: 1, batchSize: 10, augment: AUG, checkpoint: { write: (s) => (st = s) } });
    expect(st!.settings.augment).toEqual(resolveAugment(AUG));
    expect(() => checkResumable(st!.settings, { ...st!.settings, augment: null }, 'x.ckpt')).toThrow(/x\.ckpt was made with augment .* but this run has augment null/);
  });

  it('interrupted mid-epoch and resumed: bit-identical to the uninterrupted run (augmentation + dropout)', async () => {
    const mk = async () => new Model({ layers: [100, 12, 4], activation: 'relu', seed: 4, dropout: 0.3, imageShape: [10, 10] }, await BACKENDS[1].create());
    const data = bars(50, 2), opts = { epochs: 2, batchSize: 8, optimizer: 'momentum' as const, learningRate: 0.05, augment: AUG };
    const whole = await mk();
    await whole.fit(data, opts);
    const a = await mk();
    let n = 0, state: TrainState | null = null;
    await a.fit(data, { ...opts, shouldStop: () => ++n === 9 }).catch((e) => (state = e.state));
    expect(state!.batchInEpoch).toBe(2);
    const b = await mk();
    await b.fit(data, { ...opts, resume: state! });
    expect(Buffer.from(b.readParams().buffer).equals(Buffer.from(whole.readParams().buffer))).toBe(true);
  });

  it('bad options throw one-line errors; non-image inputs are refused', async () => {
    const m = new Model({ layers: [7, 4, 3], seed: 1 }, await BACKENDS[0].create());
    await expect(m.fit(synthetic(20, 7, 3, 1), { augment: true })).rejects.toThrow(/augmentation needs 2-D images/);
    const m2 = new Model({ layers: [100, 4, 4], seed: 1 }, await BACKENDS[0].create());
    await expect(m2.fit(bars(20, 1), { augment: { rotate: 90 } })).rejects.toThrow(/rotation must be a number in \[0, 45\]/);
    await expect(m2.fit(bars(20, 1), { augment: { sigma: 0 } })).rejects.toThrow(/sigma must be a number in \[1, 16\]/);
    await expect(m2.fit(bars(20, 1), { augment: { shift: NaN } })).rejects.toThrow(/shift must be a number/);
  });
});
