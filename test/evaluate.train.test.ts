/**
 * fit()'s per-epoch evaluations of the validation and test data: they yield to the event loop between
 * batches as training does (yieldMs), report progress, stop on shouldStop like a training batch, give
 * the bits a synchronous evaluate() gives, and hand the evaluation of the final weights back
 * (History.test) so a caller need not evaluate the test data again.
 */
import { describe, expect, it } from 'vitest';
import { createBackend } from '../src/backends/index.js';
import { batchNorm, conv2d, dense, flatten, maxPool2d } from '../src/nn/layers.js';
import { Model, type DataSet, type Evaluation, type ModelConfig } from '../src/train/model.js';
import { InterruptedError, type EvaluateProgress, type FitOptions } from '../src/train/train.js';
import type { TrainState } from '../src/format/checkpoint.js';
import { evaluateAsync } from '../src/index.js';
import { sameBits } from './helpers/bits.js';
import { synthetic } from './helpers/synthetic.js';

const shape = [8, 8];
const withShape = (d: DataSet): DataSet => ({ ...d, imageShape: shape });
const train = withShape(synthetic(120, 64, 3, 1));
const validation = withShape(synthetic(200, 64, 3, 2));
const test = withShape(synthetic(230, 64, 3, 3));
const cfg: ModelConfig = { inputShape: shape, layers: [conv2d(4, 3, { activation: 'relu' }), batchNorm(), maxPool2d(2), flatten(), dense(3)], seed: 5 };
const BATCH = 10;
const opts: FitOptions = { epochs: 3, batchSize: BATCH, optimizer: 'adam', learningRate: 0.01, validationData: validation, testData: test };
const evalBatches = Math.ceil(validation.count / BATCH) + Math.ceil(test.count / BATCH);

const newModel = async () => new Model(cfg, await createBackend());

/** the same Evaluation to the bit: losses and accuracies compared as float bits, counts as numbers */
function expectSame(a: Evaluation, b: Evaluation): void {
  expect(sameBits(new Float64Array([a.loss, a.accuracy, ...a.perClass]), new Float64Array([b.loss, b.accuracy, ...b.perClass]))).toBe(true);
  expect(a.correct).toBe(b.correct);
  expect(a.confusion).toEqual(b.confusion);
}

/** turns of the event loop: a setImmediate chain that counts itself until stopped */
function ticker() {
  let ticks = 0, on = true;
  const tick = () => {
    ticks++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return { get ticks() { return ticks; }, stop: () => (on = false) };
}

describe('fit(): the per-epoch evaluations', () => {
  it('yield to the event loop between their batches (yieldMs 0: every batch) and give the bits of a synchronous evaluate()', async () => {
    const m = await newModel();
    const t = ticker();
    let atLastBatch = 0;
    const during: number[] = [], fromCallback: Evaluation[] = [], passed: (Evaluation | undefined)[] = [];
    const batches = Math.ceil(train.count / BATCH);
    const history = await m.fit(train, {
      ...opts,
      yieldMs: 0,
      callbacks: {
        onBatchEnd: (b) => {
          if (b === batches - 1) atLastBatch = t.ticks;
        },
        onEpochEnd: (_e, _logs, evaluations) => {
          // turns of the event loop between the epoch's last batch and its end: the evaluations'
          during.push(t.ticks - atLastBatch);
          passed.push(evaluations?.test);
          // the same weights, evaluated synchronously (fit() is running: a session of its own)
          fromCallback.push(m.evaluate(test, { batchSize: BATCH }));
        },
      },
    });
    t.stop();
    // before: the evaluations ran in one synchronous pass (one turn at most, the yield after the last batch)
    for (const d of during) expect(d).toBeGreaterThanOrEqual(evalBatches - 2);
    history.epochs.forEach((l, i) => {
      expectSame(passed[i]!, fromCallback[i]);
      expect(Object.is(l.testLoss, fromCallback[i].loss)).toBe(true);
      expect(Object.is(l.testAccuracy, fromCallback[i].accuracy)).toBe(true);
    });
    // and the whole run's figures are those of a run that never yields
    const quiet = await (await newModel()).fit(train, { ...opts, yieldMs: 1e9 });
    expect(sameBits(new Float64Array(history.epochs.flatMap((l) => [l.loss, l.valLoss!, l.testLoss!])), new Float64Array(quiet.epochs.flatMap((l) => [l.loss, l.valLoss!, l.testLoss!])))).toBe(true);
  });

  it('report their progress after each batch but the last: the validation data, then the test data', async () => {
    const seen: EvaluateProgress[] = [];
    await (await newModel()).fit(train, { ...opts, epochs: 1, callbacks: { onEvaluateProgress: (p) => seen.push({ ...p }) } });
    const val = seen.filter((p) => p.set === 'validation'), tst = seen.filter((p) => p.set === 'test');
    expect(val.map((p) => p.done)).toEqual(Array.from({ length: 19 }, (_, i) => (i + 1) * BATCH));
    expect(tst.map((p) => p.done)).toEqual(Array.from({ length: 22 }, (_, i) => (i + 1) * BATCH));
    expect(seen.indexOf(tst[0])).toBe(val.length);
    expect(seen.every((p) => p.epoch === 1 && p.count === (p.set === 'test' ? test.count : validation.count))).toBe(true);
  });

  it('stop on shouldStop between their batches, with the state after the epoch\'s last batch; the resumed run ends bit-identical to an uninterrupted one', async () => {
    const whole = await newModel();
    const h0 = await whole.fit(train, opts);
    let stop = false;
    const m = await newModel();
    const err = await m.fit(train, {
      ...opts,
      shouldStop: () => stop,
      callbacks: { onEvaluateProgress: (p) => { if (p.epoch === 2 && p.set === 'test' && p.done === 50) stop = true; } },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(err.message).toBe('training interrupted in epoch 2 while evaluating the test data (after the epoch\'s last batch: a resumed run evaluates it again)');
    const st: TrainState = err.state;
    expect(st.epochsDone).toBe(1);
    expect(st.batchInEpoch).toBe(Math.ceil(train.count / BATCH));
    const again = await newModel();
    const h1 = await again.fit(train, { ...opts, resume: st });
    expect(h1.epochs.map((l) => l.epoch)).toEqual([2, 3]);
    expect(sameBits(again.readParams(), whole.readParams())).toBe(true);
    expect(sameBits(again.readBuffers(), whole.readBuffers())).toBe(true);
    expectSame(h1.test!.evaluation, h0.test!.evaluation);
  });

  it('History.test is the evaluation of the weights fit() leaves: the last epoch\'s, or the best epoch\'s with early stopping, absent when that epoch came before a resume', async () => {
    const m = await newModel();
    const h = await m.fit(train, { ...opts, testData: test });
    expect(h.test!.epoch).toBe(3);
    expect(h.test!.ms).toBeGreaterThan(0);
    expectSame(h.test!.evaluation, m.evaluate(test));
    // without test data, nothing
    expect((await (await newModel()).fit(train, { ...opts, testData: undefined })).test).toBeUndefined();

    // early stopping on validation data whose labels are the next class: the better the model learns,
    // the higher its validation loss, so an earlier epoch is the best one and its weights come back
    const wrong = { ...validation, labels: validation.labels.map((y) => (y + 1) % 3) };
    const states: TrainState[] = [];
    const es: FitOptions = { ...opts, validationData: wrong, epochs: 4, earlyStopping: { patience: 4 }, checkpoint: { write: (s) => states.push(s) } };
    const e = await newModel();
    const he = await e.fit(train, es);
    expect(he.bestEpoch).toBeLessThan(4); // the case this test is about: the weights went back
    expect(he.test!.epoch).toBe(he.bestEpoch);
    expectSame(he.test!.evaluation, e.evaluate(test));
    // resumed after the best epoch, which no later epoch beats: that epoch was measured by the earlier call
    const r = await newModel();
    const hr = await r.fit(train, { ...es, checkpoint: undefined, resume: states[he.bestEpoch!] }); // the checkpoint of the epoch after the best
    expect(hr.bestEpoch).toBe(he.bestEpoch);
    expect(hr.test).toBeUndefined();
  });
});

describe('evaluateAsync() from the package', () => {
  it('gives the bits of a synchronous evaluate(), yields between batches, reports progress, stops on shouldStop, and is refused while fit() runs', async () => {
    const m = await newModel();
    await m.fit(train, { epochs: 1, batchSize: BATCH, optimizer: 'adam', learningRate: 0.01 });
    const t = ticker();
    const progress: number[] = [];
    const r = await evaluateAsync(m, test, { batchSize: BATCH, yieldMs: 0, onProgress: (done, count) => progress.push(done / count) });
    t.stop();
    if (!('evaluation' in r)) throw new Error('stopped');
    expectSame(r.evaluation, m.evaluate(test, { batchSize: BATCH }));
    expect(progress.length).toBe(Math.ceil(test.count / BATCH) - 1);
    expect(t.ticks).toBeGreaterThanOrEqual(progress.length);
    let n = 0;
    expect(await evaluateAsync(m, test, { batchSize: BATCH, shouldStop: () => ++n === 3 })).toEqual({ stopped: 3 * BATCH });
    const running = m.fit(train, { epochs: 1, batchSize: BATCH, optimizer: 'adam', learningRate: 0.01, yieldMs: 0 });
    await expect(evaluateAsync(m, test)).rejects.toThrow(/this model is training: use model.evaluate\(\) while fit\(\) runs, or evaluateAsync\(\) after it returns/);
    await running;
  });
});
