/**
 * fit({ labelSmoothing }): training against the targets (1 - e) onehot + e / V for the ce loss. 0 is
 * the plain run bit for bit; the epochs' loss is the smoothed one, every evaluation the plain
 * cross-entropy; checkpoints carry it (older ones read as 0) and a resume keeps it or is refused.
 */
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { DataError, SimdnetError, UsageError } from '../src/core/errors.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/format/checkpoint.js';
import { Model } from '../src/train/model.js';
import type { ModelConfig } from '../src/nn/model.js';
import { InterruptedError, type EpochLogs, type FitOptions } from '../src/train/train.js';
import { sameBits } from './helpers/bits.js';
import { synthetic } from './helpers/synthetic.js';

const cfg: ModelConfig = { layers: [12, 10, 4], activation: 'relu', seed: 5 };
const data = synthetic(120, 12, 4, 21);
const val = synthetic(40, 12, 4, 22);
const opts: FitOptions = { epochs: 2, batchSize: 16, optimizer: 'momentum', learningRate: 0.05, yieldMs: 1e9 };

/** the mean over the data of -sum_k t_k log p_k, t = (1 - e) onehot + e / V, from predict()'s probabilities */
function meanXent(m: Model, d: typeof data, e: number): number {
  const p = m.predict(d.images, d.count), V = m.classes;
  let sum = 0;
  for (let i = 0; i < d.count; i++) for (let k = 0; k < V; k++) sum -= ((k === d.labels[i] ? 1 - e : 0) + e / V) * Math.log(p[i * V + k]);
  return sum / d.count;
}

describe('fit({ labelSmoothing })', () => {
  for (const [name, make] of [['ts', async () => new TsBackend()], ['wasm-simd', () => WasmBackend.create('simd')]] as const) {
    it(`labelSmoothing 0 is the run without the option, bit for bit (${name})`, async () => {
      const a = new Model(cfg, await make()), b = new Model(cfg, await make());
      const ha = await a.fit(data, { ...opts, validationData: val });
      const hb = await b.fit(data, { ...opts, validationData: val, labelSmoothing: 0 });
      expect(sameBits(a.readParams(), b.readParams())).toBe(true);
      const strip = (l: EpochLogs) => [l.loss, l.trainAccuracy, l.valLoss, l.valAccuracy];
      expect(hb.epochs.map(strip)).toEqual(ha.epochs.map(strip));
    });
  }

  it('> 0 trains; the logs\' loss is the smoothed loss, valLoss, testLoss and evaluate() the plain cross-entropy', async () => {
    const e = 0.1;
    // one batch per epoch, no shuffling: epoch 1's loss is the smoothed loss of the initial weights on the data
    const m = new Model(cfg, new TsBackend());
    const before = meanXent(m, data, e), plainBefore = meanXent(m, data, 0);
    const h = await m.fit(data, { ...opts, batchSize: data.count, shuffle: false, epochs: 30, learningRate: 0.2, labelSmoothing: e, validationData: val, testData: val });
    expect(h.epochs[0].loss).toBeCloseTo(before, 5);
    expect(Math.abs(before - plainBefore)).toBeGreaterThan(1e-3);
    const last = h.epochs[h.epochs.length - 1];
    // it learns
    expect(last.loss).toBeLessThan(h.epochs[0].loss * 0.7);
    expect(last.valAccuracy!).toBeGreaterThan(0.8);
    // the evaluations are plain cross-entropy: the final weights' loss on val, smoothed and not
    expect(last.valLoss!).toBeCloseTo(meanXent(m, val, 0), 5);
    expect(last.testLoss!).toBe(last.valLoss!);
    expect(Math.abs(last.valLoss! - meanXent(m, val, e))).toBeGreaterThan(1e-3);
    expect(m.evaluate(val).loss).toBe(last.valLoss!);
    // and the smoothing changed the training: other weights than without it
    const plain = new Model(cfg, new TsBackend());
    await plain.fit(data, { ...opts, batchSize: data.count, shuffle: false, epochs: 30, learningRate: 0.2 });
    expect(sameBits(plain.readParams(), m.readParams())).toBe(false);
  });

  it('the wasm builds train the smoothed loss as the TS reference does (within the golden run\'s tolerance: their matmul sums round differently)', async () => {
    const o = { ...opts, labelSmoothing: 0.15 };
    const hr = await new Model(cfg, new TsBackend()).fit(data, o);
    const plain = await new Model(cfg, new TsBackend()).fit(data, opts);
    for (const variant of ['simd', 'scalar'] as const) {
      const hw = await new Model(cfg, await WasmBackend.create(variant)).fit(data, o);
      hw.epochs.forEach((l, i) => {
        expect(Math.abs(l.loss - hr.epochs[i].loss), `${variant} epoch ${i + 1}`).toBeLessThan(1e-4 * Math.max(1, hr.epochs[i].loss));
        expect(Math.abs(l.loss - plain.epochs[i].loss), `${variant} epoch ${i + 1}: smoothed`).toBeGreaterThan(1e-3);
      });
    }
  });

  it('a value outside [0, 1), or any smoothing with the mse loss, is refused in one line', async () => {
    for (const bad of [1, -0.1, 1.5, NaN, Infinity]) {
      const err = await new Model(cfg, new TsBackend()).fit(data, { ...opts, labelSmoothing: bad }).catch((x) => x);
      expect(err, String(bad)).toBeInstanceOf(UsageError);
      expect(err.message).toBe(`label smoothing must be in [0, 1), got ${bad}`);
    }
    const mse = new Model({ ...cfg, loss: 'mse' }, new TsBackend());
    const err = await mse.fit(data, { ...opts, labelSmoothing: 0.1 }).catch((x) => x);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe("label smoothing applies to the ce loss (softmax + cross-entropy), not mse: use loss 'ce' or leave labelSmoothing at 0");
    await mse.fit(data, { ...opts, labelSmoothing: 0 }); // 0 is no smoothing, for any loss
  });
});

describe('label smoothing in checkpoints', () => {
  it('round trip; --resume continues with it bit for bit; another value is refused in one line; older checkpoints read as 0', async () => {
    const o: FitOptions = { ...opts, epochs: 3, labelSmoothing: 0.1 };
    const whole = new Model(cfg, new TsBackend());
    await whole.fit(data, o);
    let n = 0;
    const err = await new Model(cfg, new TsBackend()).fit(data, { ...o, shouldStop: () => ++n === 11 }).catch((x) => x);
    expect(err).toBeInstanceOf(InterruptedError);
    const st = decodeCheckpoint(encodeCheckpoint(err.state), 'run.ckpt');
    expect(st.settings.labelSmoothing).toBe(0.1);
    // resume alone: the smoothing comes from the checkpoint
    const b = new Model(cfg, new TsBackend());
    await b.fit(data, { resume: st, yieldMs: 1e9 });
    expect(sameBits(b.readParams(), whole.readParams())).toBe(true);
    for (const other of [0.2, 0]) {
      const e = await new Model(cfg, new TsBackend()).fit(data, { resume: st, labelSmoothing: other }).catch((x) => x);
      expect(e).toBeInstanceOf(SimdnetError);
      expect(e.message).toBe(`the checkpoint was made with labelSmoothing 0.1 but this run has labelSmoothing ${other}; resume with the same settings (or start a new run)`);
    }
    // a checkpoint written before the field existed: no smoothing
    const old: TrainState = { ...st, settings: { ...st.settings } };
    delete (old.settings as Partial<typeof old.settings>).labelSmoothing;
    const bytes = encodeCheckpoint(old);
    expect(new TextDecoder().decode(bytes)).not.toContain('labelSmoothing');
    expect(decodeCheckpoint(bytes, 'old.ckpt').settings.labelSmoothing).toBe(0);
    await expect(new Model(cfg, new TsBackend()).fit(data, { resume: decodeCheckpoint(bytes, 'old.ckpt'), labelSmoothing: 0.1 })).rejects.toThrow(/^the checkpoint was made with labelSmoothing 0 but this run has labelSmoothing 0\.1;/);
    // a value no run could have written is a corrupt checkpoint
    for (const bad of [1, -0.5, 'x']) {
      const c = encodeCheckpoint({ ...st, settings: { ...st.settings, labelSmoothing: bad as number } });
      expect(() => decodeCheckpoint(c, 'bad.ckpt')).toThrow(DataError);
      expect(() => decodeCheckpoint(c, 'bad.ckpt')).toThrow(/^bad\.ckpt: corrupt checkpoint: label smoothing .* is not in \[0, 1\)$/);
    }
  });
});
