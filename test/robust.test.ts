/** Divergence, checkpoints and resume, long runs, limits, concurrent models (library level). */
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/format/checkpoint.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { SimdnetError } from '../src/core/errors.js';
import { Model, type DataSet } from '../src/train/model.js';
import { DivergenceError, InterruptedError, type FitOptions } from '../src/train/train.js';
import type { Backend } from '../src/core/backend.js';
import { synthetic } from './helpers/synthetic.js';
import { sameBits } from './helpers/bits.js';

const data = synthetic(230, 20, 4, 11); // 230 / 16 -> 15 batches, the last one short
const cfg = { layers: [20, 12, 4], activation: 'relu' as const, loss: 'ce' as const, seed: 5 };
const opts: FitOptions = { batchSize: 16, optimizer: 'adam', learningRate: 0.01, yieldMs: 1e9 };
const backends: [string, () => Promise<Backend>][] = [
  ['ts', async () => new TsBackend()],
  ['wasm-simd', () => WasmBackend.create('simd')],
];

describe.each(backends)('resume on %s', (_name, make) => {
  it('interrupted after epoch k, or mid-epoch, and resumed: weights bit-identical to an uninterrupted run', async () => {
    const ref = new Model(cfg, await make());
    await ref.fit(data, { ...opts, epochs: 4 });
    const want = ref.readParams();

    // run 1: checkpoints every 4 batches and at each epoch end, stopped by shouldStop in epoch 3
    const states: TrainState[] = [];
    const a = new Model(cfg, await make());
    let batches = 0;
    await expect(
      a.fit(data, { ...opts, epochs: 4, checkpoint: { everyBatches: 4, write: (s) => states.push(decodeCheckpoint(encodeCheckpoint(s), 'mem')) }, shouldStop: () => ++batches === 37 }),
    ).rejects.toBeInstanceOf(InterruptedError);
    const epochEnd = states.filter((s) => s.batchInEpoch === 0);
    const mid = states.filter((s) => s.batchInEpoch > 0);
    expect(epochEnd.map((s) => s.epochsDone)).toEqual([1, 2]);
    expect(mid.length).toBeGreaterThan(4);

    for (const st of [epochEnd[0], epochEnd[1], mid[0], mid[mid.length - 1]]) {
      const b = new Model(cfg, await make()); // fresh model, fresh init: everything comes from the checkpoint
      await b.fit(data, { ...opts, epochs: 4, resume: st });
      expect(b.epochsDone).toBe(4);
      expect(sameBits(b.readParams(), want), `resume from epoch ${st.epochsDone} batch ${st.batchInEpoch}`).toBe(true);
    }
    // and the state carried by the interruption itself
    const c = new Model(cfg, await make());
    batches = 0;
    const stopped = await c.fit(data, { ...opts, epochs: 4, shouldStop: () => ++batches === 20 }).catch((e) => e);
    expect(stopped).toBeInstanceOf(InterruptedError);
    expect(stopped.state.batchInEpoch).toBe(5);
    const d = new Model(cfg, await make());
    await d.fit(data, { ...opts, epochs: 4, resume: stopped.state });
    expect(sameBits(d.readParams(), want)).toBe(true);
    // a perturbed checkpoint does not match: the comparison can fail
    const bad = { ...epochEnd[0], params: epochEnd[0].params.slice() };
    bad.params[0] += 1e-3;
    const e2 = new Model(cfg, await make());
    await e2.fit(data, { ...opts, epochs: 4, resume: bad });
    expect(sameBits(e2.readParams(), want)).toBe(false);
  }, 60_000);
});

describe('samples/s after a resume', () => {
  it('counts only the samples this call trained in the epoch: none after a resume at the epoch\'s end (null, not a rate), the rest after a mid-epoch one', async () => {
    const o: FitOptions = { ...opts, epochs: 2 };
    const whole = await new Model(cfg, new TsBackend()).fit(data, o);
    expect(whole.epochs.map((l) => l.samples)).toEqual([230, 230]);
    for (const l of whole.epochs) expect(l.samplesPerSec).toBeCloseTo((230 / l.epochMs) * 1000, 6);
    // stopped after epoch 1's last batch (15 batches: as Ctrl-C during its evaluation leaves it), and after its 5th
    for (const [k, left] of [[15, 0], [5, 230 - 5 * 16]]) {
      let n = 0;
      const err = await new Model(cfg, new TsBackend()).fit(data, { ...o, testData: data, shouldStop: () => ++n === k }).catch((e) => e);
      expect(err).toBeInstanceOf(InterruptedError);
      expect(err.state.batchInEpoch).toBe(k);
      const h = await new Model(cfg, new TsBackend()).fit(data, { ...o, resume: err.state });
      const [e1, e2] = h.epochs;
      expect([e1.epoch, e1.samples, e2.samples]).toEqual([1, left, 230]);
      if (left === 0) expect(e1.samplesPerSec).toBeNull();
      else expect(e1.samplesPerSec).toBeCloseTo((left / e1.epochMs) * 1000, 6);
      expect(e2.samplesPerSec).toBeCloseTo((230 / e2.epochMs) * 1000, 6);
    }
  });
});

describe('early stopping across a resume', () => {
  it('interrupted at any batch (the last of an epoch too) and resumed: same best epoch and bit-identical weights; a run that already stopped is refused', async () => {
    // noisy data so that the validation loss turns up after a couple of epochs
    const tr = synthetic(200, 20, 4, 3, 200), va = synthetic(100, 20, 4, 4, 200);
    const c = { layers: [20, 64, 4], activation: 'relu' as const, seed: 2 };
    const o: FitOptions = { batchSize: 10, optimizer: 'adam', learningRate: 0.02, validationData: va, earlyStopping: { patience: 2 }, epochs: 20, yieldMs: 1e9 };
    const full = new Model(c, new TsBackend());
    const h = await full.fit(tr, o);
    expect(h.stoppedEarly).toBe(true);
    expect(h.bestEpoch).toBeLessThan(h.epochs.length); // the kept weights are not the last epoch's
    const want = full.readParams();
    const per = 20; // batches per epoch
    for (const k of [per + 3, 2 * per, (h.bestEpoch! + 1) * per]) {
      const a = new Model(c, new TsBackend());
      let n = 0;
      const err = await a.fit(tr, { ...o, shouldStop: () => ++n === k }).catch((e) => e);
      expect(err).toBeInstanceOf(InterruptedError);
      const b = new Model(c, new TsBackend());
      const h2 = await b.fit(tr, { ...o, resume: decodeCheckpoint(encodeCheckpoint(err.state), 'mem') });
      expect(h2.bestEpoch, `stopped after batch ${k}`).toBe(h.bestEpoch);
      expect(h2.stoppedEarly).toBe(true);
      expect(sameBits(b.readParams(), want), `stopped after batch ${k}`).toBe(true);
    }
    // the checkpoint written at the epoch the run stopped in: nothing is left to train
    const states: TrainState[] = [];
    await new Model(c, new TsBackend()).fit(tr, { ...o, checkpoint: { write: (st) => states.push(st) } });
    const last = decodeCheckpoint(encodeCheckpoint(states[states.length - 1]), 'run.ckpt');
    await expect(new Model(c, new TsBackend()).fit(tr, { ...o, resume: last })).rejects.toThrow(/already stopped early after epoch \d+ \(no lower validation loss since epoch \d+\); nothing is left to train/);
    // and a checkpoint made without early stopping does not resume a run with it (or the reverse)
    await expect(new Model(c, new TsBackend()).fit(tr, { ...o, earlyStopping: { patience: 3 }, resume: last })).rejects.toThrow(/made with earlyStopping 2 but this run has earlyStopping 3/);
  });
});

describe('checkpoint settings', () => {
  it('a checkpoint from a run with other settings is refused, naming the setting and both values', async () => {
    const states: TrainState[] = [];
    const a = new Model(cfg, new TsBackend());
    await a.fit(data, { ...opts, epochs: 1, checkpoint: { write: (s) => states.push(s) } });
    const b = new Model(cfg, new TsBackend());
    await expect(b.fit(data, { ...opts, learningRate: 0.02, epochs: 3, resume: states[0] })).rejects.toThrow(/learningRate 0\.01 but this run has learningRate 0\.02/);
    await expect(b.fit(data, { ...opts, batchSize: 8, epochs: 3, resume: states[0] })).rejects.toThrow(/batchSize 16 but this run has batchSize 8/);
    await expect(b.fit(data, { ...opts, epochs: 1, resume: states[0] })).rejects.toThrow(/already completed 1 epochs/);
  });

  it('fit({ resume }) alone continues the run: every option not given comes from the checkpoint, bit-identical; one given that contradicts it is one line', async () => {
    const o: FitOptions = { batchSize: 16, optimizer: 'nesterov', learningRate: 0.05, momentum: 0.8, weightDecay: 1e-4, schedule: { type: 'step', stepSize: 1, gamma: 0.7 }, augment: false, epochs: 3, yieldMs: 1e9 };
    const ref = new Model(cfg, new TsBackend());
    await ref.fit(data, o);
    let n = 0;
    const err = await new Model(cfg, new TsBackend()).fit(data, { ...o, shouldStop: () => ++n === 20 }).catch((e) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    const st = decodeCheckpoint(encodeCheckpoint(err.state), 'mem');
    expect(st.settings.epochs).toBe(3);
    const b = new Model(cfg, new TsBackend());
    await b.fit(data, { resume: st, yieldMs: 1e9 });
    expect(b.epochsDone).toBe(3);
    expect(sameBits(b.readParams(), ref.readParams())).toBe(true);
    // more epochs than the run's may be asked for; a contradicting option is refused with both values
    await new Model(cfg, new TsBackend()).fit(data, { resume: st, epochs: 4, yieldMs: 1e9 });
    const e = await new Model(cfg, new TsBackend()).fit(data, { resume: st, momentum: 0.9 }).catch((x) => x);
    expect(e).toBeInstanceOf(SimdnetError);
    expect(e.message).toMatch(/^the checkpoint was made with momentum 0\.8 but this run has momentum 0\.9/);
    expect(e.message.split('\n').length).toBe(1);
  });

  it('a checkpoint made on other training data (same counts and classes) is refused: the data fingerprint differs', async () => {
    const states: TrainState[] = [];
    await new Model(cfg, new TsBackend()).fit(data, { ...opts, epochs: 1, checkpoint: { write: (s) => states.push(decodeCheckpoint(encodeCheckpoint(s), 'mem')) } });
    expect(states[0].settings.data).toMatch(/^crc32:[0-9a-f]{8}:230$/);
    const other = { ...data, images: data.images.slice() };
    other.images[1000] ^= 1; // one pixel
    const e = await new Model(cfg, new TsBackend()).fit(other, { ...opts, epochs: 2, resume: states[0] }).catch((x) => x);
    expect(e).toBeInstanceOf(SimdnetError);
    expect(e.message).toMatch(/^the checkpoint was made on other training data \(fingerprint crc32:\w+:230, this data's crc32:\w+:230\); resume on the data it was made on/);
    const relabelled = { ...data, labels: data.labels.slice() };
    relabelled.labels[0] = (relabelled.labels[0] + 1) % 4;
    await expect(new Model(cfg, new TsBackend()).fit(relabelled, { ...opts, epochs: 2, resume: states[0] })).rejects.toThrow(/other training data/);
    await new Model(cfg, new TsBackend()).fit({ ...data }, { ...opts, epochs: 2, resume: states[0] }); // the same data in another object resumes
  });
});

describe('divergence', () => {
  it('an update that overflows is caught in that batch; the model holds the last weights with finite outputs (here the initial ones: the partly updated ones overflow)', async () => {
    for (const be of [new TsBackend(), await WasmBackend.create('simd'), await WasmBackend.create('scalar')]) {
      const m = new Model(cfg, be);
      const before = m.readParams();
      const err = await m.fit(data, { epochs: 1, batchSize: 16, optimizer: 'sgd', learningRate: 1e30, weightDecay: 1e10 }).catch((e) => e);
      expect(err).toBeInstanceOf(DivergenceError);
      expect(err.exitCode).toBe(3);
      expect(err.message).toMatch(/^training diverged in epoch 1, batch 1: the update of \d+ weights overflowed to NaN or Inf; the last weights with finite outputs are the initial weights \(before any training\); the likely cause is the weight decay 10000000000 /);
      // the partly updated weights (the kernels' exact rule: ops.conformance) overflow the forward pass, so the initial weights are restored
      expect(err.partial).toBe(false);
      expect(sameBits(m.readParams(), before)).toBe(true);
      expect(m.predict(data.images).every(Number.isFinite)).toBe(true);
      expect(m.training).toBe(false);
    }
  });

  it('NaN gradients are refused before the update: weights and optimizer state are unchanged', async () => {
    for (const be of [new TsBackend(), await WasmBackend.create('simd'), await WasmBackend.create('scalar')]) {
      const m = new Model(cfg, be);
      await m.fit(data, { epochs: 1, batchSize: 16, optimizer: 'momentum', learningRate: 0.01 });
      const before = m.readParams();
      const s = m.plan(16, 'momentum', []);
      const vel = be.read(s.opt[0]);
      const g = new Float32Array(m.paramBlockLength).fill(0.5);
      g[m.paramBlockLength >> 1] = NaN;
      be.write(m.grads, g);
      const guard = m.update(s, { type: 'momentum', momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, 0.1);
      expect(guard).toBe(1);
      expect(sameBits(m.readParams(), before)).toBe(true);
      expect(sameBits(be.read(s.opt[0]), vel)).toBe(true);
    }
  });

  it('a loss that becomes NaN/Inf is caught in that batch; the weights stay finite', async () => {
    const m = new Model({ ...cfg, activation: 'linear' as never }, new TsBackend());
    const err = await m.fit(data, { epochs: 3, batchSize: 16, optimizer: 'sgd', learningRate: 1e18 }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(err.message).toMatch(/in epoch \d+, batch \d+: .*; the last weights with finite outputs are .*; the likely cause is the learning rate 1000000000000000000; try a lower one$/);
    const p = m.readParams();
    expect(p.every((x) => Number.isFinite(x))).toBe(true);
  });
});

describe('long runs', () => {
  it('after the first epoch neither wasm memory nor RSS grows over 100 epochs', async () => {
    const be = await WasmBackend.create('simd');
    const m = new Model({ layers: [20, 64, 4], activation: 'relu', seed: 1 }, be);
    await m.fit(data, { ...opts, epochs: 1 });
    const wasm0 = be.memoryBytes();
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    for (let i = 0; i < 100; i++) {
      await m.fit(data, { ...opts, epochs: 1 });
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    const wasm1 = be.memoryBytes();
    console.log(`long run: wasm memory ${wasm0} -> ${wasm1} bytes; RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB -> max ${(rssMax / 2 ** 20).toFixed(1)} MiB over 100 epochs`);
    expect(wasm1).toBe(wasm0);
    expect(rssMax - rss0).toBeLessThan(32 * 2 ** 20);
  }, 60_000);
});

describe('limits', () => {
  it('a batch size that would exceed the 4 GiB wasm memory is refused before training, with the bytes needed', async () => {
    // (a batch beyond the data is the data: the batch fits the data and the network is wide)
    const m = new Model({ layers: [16, 65536, 10], seed: 1 }, await WasmBackend.create('simd'));
    const before = m.readParams();
    const d: DataSet = synthetic(8000, 16, 10, 1);
    const err = await m.fit(d, { epochs: 1, batchSize: 8000 }).catch((e) => e);
    expect(err).toBeInstanceOf(SimdnetError);
    expect(err.message).toMatch(/batch size 8000 needs \d+ bytes \(\d+\.\d+ GiB\) of WebAssembly memory, more than the 4 GiB/);
    expect(m.step).toBe(0);
    expect(sameBits(m.readParams(), before)).toBe(true);
  });

  it('the up-front estimate equals what the plan then allocates', async () => {
    const be = await WasmBackend.create('simd');
    const m = new Model({ layers: [30, 17, 5], seed: 1 }, be);
    const base = be.mark();
    const d: DataSet = synthetic(33, 30, 5, 2);
    await m.fit(d, { epochs: 1, batchSize: 7, optimizer: 'adam' });
    expect(be.mark() - base).toBe(m.planSize(7, 'adam', [d]));
    // by hand, 16-byte aligned: input 7x30, outputs 7x17 and 7x5, probs 7x5, dA and dB 7x30 (f32);
    // labels, preds (7), order (33) i32; Adam's two tensors of 628 parameters; 33 images and labels (u8)
    const al16 = (n: number) => Math.ceil(n / 16) * 16;
    const hand = al16(840) + al16(476) + al16(140) + al16(140) + 2 * al16(840) + 2 * al16(28) + al16(132) + 2 * al16(628 * 4) + al16(990) + al16(33);
    expect(m.paramBlockLength).toBe(628);
    expect(m.paramCount).toBe(617); // 30x17 + 17 + 17x5 + 5, without the padding
    expect(m.planSize(7, 'adam', [d])).toBe(hand);
  });

  it('data whose input size or class count does not match the model is refused with both numbers', async () => {
    const m = new Model({ layers: [21, 4], seed: 1 }, new TsBackend());
    await expect(m.fit(data, { epochs: 1 })).rejects.toThrow(/20 features per image but the model takes 21 inputs/);
    const m3 = new Model({ layers: [20, 3], seed: 1 }, new TsBackend());
    await expect(m3.fit(data, { epochs: 1 })).rejects.toThrow(/label 3 .* the model has 3 classes/);
  });
});

describe('concurrent models', () => {
  it('two models trained at once (interleaved fits) end bit-identical to each trained alone; a second fit() is refused', async () => {
    const cfgB = { layers: [20, 9, 4], activation: 'tanh' as const, seed: 8 };
    const dataB = synthetic(200, 20, 4, 12);
    const alone = async (c: typeof cfg | typeof cfgB, d: DataSet) => {
      const m = new Model(c, await WasmBackend.create('simd'));
      await m.fit(d, { ...opts, epochs: 3 });
      return m.readParams();
    };
    const wantA = await alone(cfg, data), wantB = await alone(cfgB, dataB);
    const a = new Model(cfg, await WasmBackend.create('simd'));
    const b = new Model(cfgB, await WasmBackend.create('simd'));
    let interleaved = 0, last = '';
    const note = (who: string) => () => {
      if (last && last !== who) interleaved++;
      last = who;
    };
    const pa = a.fit(data, { ...opts, yieldMs: 0, epochs: 3, callbacks: { onBatchEnd: note('a') } });
    await expect(a.fit(data, { epochs: 1 })).rejects.toThrow(/already training/);
    const pb = b.fit(dataB, { ...opts, yieldMs: 0, epochs: 3, callbacks: { onBatchEnd: note('b') } });
    await Promise.all([pa, pb]);
    expect(interleaved).toBeGreaterThan(10);
    expect(sameBits(a.readParams(), wantA)).toBe(true);
    expect(sameBits(b.readParams(), wantB)).toBe(true);
  }, 60_000);
});

describe('models in two Workers', () => {
  it('train at the same time in two worker_threads and match training in the main thread bit for bit', async () => {
    const { Worker } = await import('node:worker_threads');
    const jobs = [
      { cfg, data, opts: { ...opts, epochs: 3 } },
      { cfg: { layers: [20, 9, 4], activation: 'tanh', seed: 8 }, data: synthetic(200, 20, 4, 12), opts: { ...opts, epochs: 3, optimizer: 'momentum', learningRate: 0.05 } },
    ];
    const url = new URL('./helpers/train-worker.mjs', import.meta.url);
    const results = await Promise.all(
      jobs.map((job) => new Promise<Float32Array>((resolve, reject) => {
        const w = new Worker(url, { workerData: job });
        w.once('message', (p) => { resolve(p); void w.terminate(); });
        w.once('error', reject);
      })),
    );
    for (let i = 0; i < jobs.length; i++) {
      const m = new Model(jobs[i].cfg as never, await WasmBackend.create('simd'));
      await m.fit(jobs[i].data, jobs[i].opts as FitOptions);
      expect(sameBits(results[i], m.readParams()), `worker ${i}`).toBe(true);
    }
  }, 60_000);
});

describe('writeFileAtomic', () => {
  it('writes the bytes; a target that cannot be replaced gets one SimdnetError line and leaves no temporary file', async () => {
    const { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeFileAtomic } = await import('../src/io/io.js');
    const dir = mkdtempSync(join(tmpdir(), 'simdnet-atomic-'));
    try {
      writeFileAtomic(join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
      expect([...readFileSync(join(dir, 'a.bin'))]).toEqual([1, 2, 3]);
      writeFileAtomic(join(dir, 'a.bin'), new Uint8Array([4]));
      expect([...readFileSync(join(dir, 'a.bin'))]).toEqual([4]);
      mkdirSync(join(dir, 'taken'));
      mkdirSync(join(dir, 'taken', 'inside'));
      const err = (() => { try { writeFileAtomic(join(dir, 'taken'), new Uint8Array([5])); } catch (e) { return e as Error; } })();
      expect(err).toBeInstanceOf(SimdnetError);
      expect(err!.message).toMatch(/^cannot write .*taken: E[A-Z]+; check that it is not a folder/);
      expect(err!.message).not.toContain('\n');
      expect(readdirSync(dir).sort()).toEqual(['a.bin', 'taken']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
