/**
 * A CNN (any layer list that is not a stack of dense layers) must give finite outputs wherever an MLP
 * must: the weights a diverged fit() keeps, and a model file that loadModel() reads. Its check runs the
 * model on witness images (src/nn/finite-outputs.ts predictWitness).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../src/backends/index.js';
import { DataError } from '../src/core/errors.js';
import { encodeModel } from '../src/format/format.js';
import { loadModel } from '../src/io/io.js';
import { batchNorm, conv2d, dense, flatten, maxPool2d } from '../src/nn/layers.js';
import { Model } from '../src/train/model.js';
import { DivergenceError } from '../src/train/train.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { synthetic } from './helpers/synthetic.js';

const tmp = tempDir('simdnet-cnn-finite-');
afterAll(() => tmp.remove());
const cfg = { layers: [conv2d(4, 3, { activation: 'relu' }), maxPool2d(2), batchNorm(), flatten(), dense(4)], inputShape: [10, 10], seed: 3 };
const data = synthetic(200, 100, 4, 1);
const blank = new Uint8Array(100);

describe('a CNN whose outputs overflow', () => {
  it('a diverged fit() keeps weights whose outputs are finite in evaluation (running statistics), not only in training', async () => {
    const m = new Model(cfg, await createBackend({ prefer: 'wasm-simd' }));
    let err: unknown = null;
    try {
      // the weight decay scales the weights by 1 - 1e40 per step: finite weights near 3e38 come out of the first update
      await m.fit(data, { epochs: 2, batchSize: 20, optimizer: 'sgd', learningRate: 1e30, weightDecay: 1e10, yieldMs: 1e9 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as Error).message).toMatch(/the last weights with finite outputs are the initial weights/);
    expect(m.predict(blank, 1).every(Number.isFinite)).toBe(true);
    expect(m.predict(data.images, data.count).every(Number.isFinite)).toBe(true);
  });

  it('loadModel() refuses a CNN file whose outputs overflow float32 in one line naming an image', async () => {
    const be = await createBackend({ prefer: 'wasm-simd' });
    const m = new Model(cfg, be);
    const t = m.getLayerTensors();
    t['layers.0.b'] = new Float32Array(4).fill(3e38); // every conv output near the float32 limit: the sums after it overflow
    t['layers.4.W'] = new Float32Array(t['layers.4.W'].length).fill(3e38);
    const path = join(tmp.dir, 'overflow.simdnet');
    writeFileSync(path, encodeModel(m.config, t, {}));
    let err: unknown = null;
    try {
      await loadModel(path, { backend: be });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/overflow\.simdnet: the model's outputs overflow float32 \(Inf\/NaN\) on a blank \(all-0\) image \(largest weight 3\.00e\+38\): it cannot predict/);
    // the same network with its own weights loads
    const ok = join(tmp.dir, 'ok.simdnet');
    writeFileSync(ok, encodeModel(m.config, m.getLayerTensors(), {}));
    const { model } = await loadModel(ok, { backend: be });
    expect(model.predict(blank, 1).every(Number.isFinite)).toBe(true);
  });
});
