/**
 * Divergence (issue 23 items 6 and 7): a finite blow-up of the loss is divergence (exit 3), the
 * message names the likely cause, a diverged run saves the last weights with finite outputs, and a
 * model whose outputs overflow is refused at load and at import. The rule: src/train/divergence.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Model, type DataSet } from '../src/train/model.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { DivergenceError } from '../src/train/train.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { fromTfjs, toTfjs } from '../src/interop/interop.js';
import { overflowWitness } from '../src/nn/finite-outputs.js';
import { loadMnist } from '../src/io/mnist.js';
import { PRESETS, AUGMENTED_PRESETS, type TrainSettings } from '../src/train/presets.js';
import { EXPLODE_FACTOR } from '../src/train/divergence.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { synthetic, writeSyntheticDir } from './helpers/synthetic.js';
import { runCli } from './helpers/cli-process.js';

const tmp = tempDir('simdnet-divergence-');
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 100, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const run = (args: string[]) => runCli(args);

describe('a loss that explodes while finite is divergence (exit 3)', () => {
  it('sgd at lr 1000: 20 batches in a row far above the first batch, or most of an epoch; the last weights with finite outputs are saved', () => {
    const saved = join(tmp.dir, 'exploded.simdnet');
    const r = run(['train', '--data', data, '--lr', '1000', '--optimizer', 'sgd', '--epochs', '3', '--batch-size', '20', '--save', saved]);
    expect(r.code).toBe(3);
    expect(r.err.trim().split('\n').length).toBe(1);
    expect(r.err).toMatch(/^simdnet: training diverged in epoch 1, batch 21: the loss exploded while finite: 20 batches in a row above 10x the first batch's loss [\d.]+, now [\d.e+]+ per image; the last weights with finite outputs are the initial weights \(before any training\); the likely cause is the learning rate 1000; try a lower one; saved them to .*exploded\.simdnet\n$/);
    const ev = run(['eval', '--model', saved, '--data', data, '--json']);
    expect(ev.code).toBe(0);
    expect(Number.isFinite(JSON.parse(ev.out).loss)).toBe(true);
    // one epoch of 10 batches: judged at the epoch's end
    const r1 = run(['train', '--data', data, '--lr', '1000', '--optimizer', 'sgd', '--epochs', '1', '--batch-size', '64']);
    expect(r1.code).toBe(3);
    expect(r1.err).toMatch(/diverged in epoch 1, batch 10: the loss exploded while finite: more than half of the epoch's batches above 10x/);
    // sigmoid and sgd at lr 1e36: a loss of ~1e36, finite
    expect(run(['train', '--data', data, '--lr', '1e36', '--optimizer', 'sgd', '--batch-size', '64', '--epochs', '2']).code).toBe(3);
  }, 60_000);

  it('names the likely cause: a huge weight decay is not told to lower the learning rate', () => {
    const r = run(['train', '--data', data, '--weight-decay', '1e308', '--epochs', '2']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/the likely cause is the weight decay 1e\+308 .*use a weight decay well below 10/);
    expect(r.err).not.toMatch(/learning rate 0\.1;/);
  }, 60_000);

  it('normal runs do not trigger it: every preset, its first epoch on 5,000 MNIST images, stays far below the limit', async () => {
    const d = loadMnist();
    const n = 5000;
    const train: DataSet = { images: d.train.images.subarray(0, n * 784), labels: d.train.labels.subarray(0, n), count: n, features: 784 };
    const all: [string, Partial<TrainSettings>][] = [...Object.entries(PRESETS).map(([k, p]): [string, Partial<TrainSettings>] => [k, p.settings]), ['best-mlp --augment', { ...PRESETS['best-mlp'].settings, ...AUGMENTED_PRESETS['best-mlp'].settings }]];
    for (const [name, s] of all) {
      // a preset names an MLP by its hidden widths, or a network (a CNN) by its layer list
      const net = s.layers ? { layers: s.layers, loss: s.loss, seed: 1, inputShape: [28, 28] } : { layers: [784, ...s.hidden!, 10], activation: s.activation, loss: s.loss, seed: 1, imageShape: [28, 28], dropout: s.dropout ?? 0 };
      const m = await Model.create(net, { backend: 'wasm-simd' });
      const losses: number[] = [];
      await m.fit(train, { epochs: 1, batchSize: s.batchSize, learningRate: s.lr, optimizer: s.optimizer, momentum: s.momentum, schedule: s.schedule, augment: s.augment, callbacks: { onBatchEnd: (_b, l) => losses.push(l.loss) } });
      const limit = EXPLODE_FACTOR * Math.max(losses[0], Math.log(10));
      // measured: the largest batch loss is about a tenth of the limit in every preset
      expect(Math.max(...losses), name).toBeLessThan(limit / 4);
    }
  }, 120_000);
});

describe('a diverged run keeps weights with finite outputs; a model whose outputs overflow is refused', () => {
  it('relu at lr 1e12 (issue 23 item 6): the saved model evaluates to a finite loss', () => {
    const saved = join(tmp.dir, 'd.simdnet');
    const r = run(['train', '--data', data, '--hidden', '64', '--activation', 'relu', '--epochs', '1', '--lr', '1e12', '--save', saved]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/; the last weights with finite outputs are .*; saved them to .*d\.simdnet\n$/);
    const ev = run(['eval', '--model', saved, '--data', data, '--json']);
    expect(ev.err).toBe('');
    expect(Number.isFinite(JSON.parse(ev.out).loss)).toBe(true);
  }, 60_000);

  it('library: DivergenceError.kept names the weights the model holds, whose predictions are finite', async () => {
    const ds = synthetic(200, 30, 4, 1);
    const m = new Model({ layers: [30, 64, 4], activation: 'relu', seed: 1 }, new TsBackend());
    await m.fit(ds, { epochs: 1, batchSize: 20, learningRate: 0.01, optimizer: 'adam' });
    const err = await m.fit(ds, { epochs: 3, batchSize: 20, learningRate: 1e12 }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(err.kept).toMatch(/^those at the end of epoch \d+$|^the weights this fit\(\) call started from \(after epoch 1\)$|^those from before batch/);
    expect(m.predict(ds.images).every(Number.isFinite)).toBe(true);
  });

  it('load: a model file whose finite weights overflow the forward pass is one line naming an image it fails on', () => {
    const layers = [30, 8, 4];
    const weights = [{ W: new Float32Array(240).fill(1e30), b: new Float32Array(8) }, { W: new Float32Array(32).fill(1e30), b: new Float32Array(4) }];
    const bytes = encodeModel({ layers, activations: ['relu', 'linear'], loss: 'ce', inputScale: 1 / 255, imageShape: [30] }, weights);
    const file = tmp.write('overflow.simdnet', bytes);
    expect(() => decodeModel(bytes, 'overflow.simdnet')).toThrow(/^overflow\.simdnet: the model's outputs overflow float32 \(Inf\/NaN\) on an all-255 image \(largest weight 1\.00e\+30\): it cannot predict/);
    const r = run(['eval', '--model', file, '--data', data]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: .*overflow\.simdnet: the model's outputs overflow float32/);
    // the same weights at 1e10 are fine: the bound stays within float32
    for (const w of weights) w.W.fill(1e10);
    expect(() => decodeModel(encodeModel({ layers, activations: ['relu', 'linear'], loss: 'ce', inputScale: 1 / 255, imageShape: [30] }, weights))).not.toThrow();
  });

  it('import: a tfjs Dense model with finite weights of 3e38 is refused with one line', () => {
    const m = { layers: [4, 3], activations: ['linear' as const], loss: 'ce' as const, inputScale: 1 / 255, weights: [{ W: new Float32Array(12).fill(3e38), b: new Float32Array(3) }] };
    const { modelJson, weightsBin } = toTfjs(m);
    expect(() => fromTfjs(modelJson, weightsBin, 'big/model.json')).toThrow(/^big\/model\.json: the model's outputs overflow float32 \(Inf\/NaN\) on an all-255 image \(pixels scaled to \[0, 1\]; largest weight 3\.00e\+38\)/);
    const dir = join(tmp.dir, 'big');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
    writeFileSync(join(dir, 'weights.bin'), weightsBin);
    const r = run(['import', '--format', 'tfjs', '--model', dir, '--out', join(tmp.dir, 'big.simdnet')]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').length).toBe(1);
    expect(r.err).toMatch(/outputs overflow float32/);
  });

  it('the check needs a witness: a deep ReLU net whose interval bounds overflow but whose outputs are finite is accepted', () => {
    // 30 layers of 20 units with weights +-3 by input (every unit sees +3, -3, +3, ... from its
    // inputs): the bounds grow 30x per layer (past 1e38 by layer 28), but the outputs of equal
    // inputs cancel, so no witness image overflows
    const L = 30, layers = [4, ...new Array<number>(L - 1).fill(20), 2];
    const weights = layers.slice(1).map((o, l) => ({ W: Float32Array.from({ length: layers[l] * o }, (_, i) => (Math.floor(i / o) % 2 ? 3 : -3)), b: new Float32Array(o) }));
    const activations = [...new Array(L - 1).fill('relu'), 'linear'];
    expect(overflowWitness({ layers, activations, inputScale: 1 / 255, weights })).toBeNull();
    const all = weights.map((w) => ({ W: new Float32Array(w.W.length).fill(2), b: w.b }));
    expect(overflowWitness({ layers, activations, inputScale: 1 / 255, weights: all })).toBe('an all-255 image');
  });
});

