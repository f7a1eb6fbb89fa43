// The browser demo's networks (demo/networks.ts): the MLP of the page's fields and the CNN, which
// reads the drawing pad's preprocessed digit (demo/preprocess.ts) as its [28, 28] image.
import { describe, expect, it } from 'vitest';
import { NETWORK_KINDS, TRAINING_DEFAULTS, cnnLayers, networkConfig } from '../demo/networks.js';
import { mnistPreprocess } from '../demo/preprocess.js';
import { Model, createBackend, describeNetwork, loadMnist } from '../src/node.js';

const fields = { hidden: [64], activation: 'sigmoid' as const, seed: 1, features: 784 };

describe('demo networks', () => {
  it('the MLP is the page fields\' dense stack; the CNN a conv net on [28, 28]', async () => {
    const be = await createBackend({ prefer: 'ts' });
    const mlp = new Model(networkConfig('mlp', fields), be);
    expect(describeNetwork(mlp.config.model)).toBe('784-64-10');
    const cnn = new Model(networkConfig('cnn', fields), be);
    expect(cnn.config.model.input).toEqual([28, 28]);
    expect(describeNetwork(cnn.config.model)).toBe('input 28x28, conv 16 3x3 relu, maxpool 2, conv 32 3x3 relu, maxpool 2, flatten, dense 10');
    // 3*3*1*16+16 + 3*3*16*32+32 + 5*5*32*10+10
    expect(cnn.layers.reduce((n, l) => n + l.params.reduce((k, t) => k + t.shape.reduce((a, b) => a * b, 1), 0), 0)).toBe(12810);
    expect(() => networkConfig('cnn', { ...fields, features: 100 })).toThrow(/28x28 images/);
    expect(NETWORK_KINDS.every((k) => TRAINING_DEFAULTS[k].learningRate > 0)).toBe(true);
    expect(cnnLayers()).toEqual(cnnLayers()); // fresh descriptors each time, equal
  });

  it('a CNN trained on a slice classifies real digits drawn 10x larger on the pad, as preprocessed for it', async () => {
    const { train, test } = loadMnist();
    const be = await createBackend({ prefer: 'wasm-simd' });
    const m = new Model(networkConfig('cnn', fields), be);
    const n = 6000, F = 784;
    const d = TRAINING_DEFAULTS.cnn;
    await m.fit({ images: train.images.subarray(0, n * F), labels: train.labels.subarray(0, n), count: n, features: F }, { epochs: 1, batchSize: d.batchSize, optimizer: d.optimizer, learningRate: d.learningRate });
    // 200 test images, each upscaled 10x (nearest) into a 300x300 pad off-centre, then preprocessed
    const count = 200, pads = new Uint8Array(count * F);
    for (let i = 0; i < count; i++) {
      const digit = test.images.subarray(i * F, (i + 1) * F);
      const W = 300, g = new Uint8Array(W * W);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const v = digit[y * 28 + x];
        if (v) for (let yy = 0; yy < 10; yy++) for (let xx = 0; xx < 10; xx++) g[(y * 10 + yy + 11) * W + x * 10 + xx + 5] = v;
      }
      pads.set(mnistPreprocess(g, W, W)!, i * F);
    }
    const hits = (inputs: Uint8Array) => [...m.predictClasses(inputs, count)].filter((c, i) => c === test.labels[i]).length;
    const raw = hits(test.images.subarray(0, count * F));
    const drawn = hits(pads);
    // a transposed or mis-scaled image would fall far below the test images' own score
    expect(raw).toBeGreaterThanOrEqual(180);
    expect(drawn).toBeGreaterThanOrEqual(raw - 10);
    // the same image as the demo sends it (one u8 image of 784 pixels) gives 10 probabilities
    const p = m.predict(pads.subarray(0, F), 1);
    expect(p.length).toBe(10);
    expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    m.dispose();
  });
});
