#!/usr/bin/env node
/**
 * Epoch overhead of --augment on the real MNIST, for the same model (default: best-mlp --augment's
 * 784-800-800-10 network, batch, dropout and augmentation settings). Run `npm run build` first.
 *
 * Default (--mode steps): one epoch's worth of plain and one of augmented training steps,
 * alternating step by step (plain, augmented, plain, ...), each timed; machine load that changes
 * over seconds hits both alike, so the ratio holds on a shared machine. --mode epochs alternates
 * whole fit() epochs instead (median of --repeats pairs; noisy when the machine is shared).
 *
 *   node bench/ab/augment-overhead.mjs [--hidden 800,800] [--mode steps|epochs] [--repeats 3] [--batch-size 64] [--backend wasm-simd] [--quick]
 *
 * --quick: the first 6,000 training images (a smoke run, `npm test`).
 */
import { parseArgs } from 'node:util';
import { Model, loadMnist, resolveAugment } from '../../dist/node.js';
import { AUGMENTED_PRESETS } from '../../dist/train/presets.js';
import { median, pairRatio } from '../stats.mjs';
import { printEnvironment } from './harness.mjs';

const { values: v } = parseArgs({ options: { hidden: { type: 'string' }, mode: { type: 'string' }, repeats: { type: 'string' }, 'batch-size': { type: 'string' }, backend: { type: 'string' }, quick: { type: 'boolean' } } });
const p = AUGMENTED_PRESETS['best-mlp'].settings;
const hidden = v.hidden ? v.hidden.split(',').map(Number) : p.hidden;
const repeats = Number(v.repeats ?? 3), batchSize = Number(v['batch-size'] ?? p.batchSize), mode = v.mode ?? 'steps';
const mnist = loadMnist();
const data = v.quick ? { ...mnist, train: { ...mnist.train, count: 6000 } } : mnist;
const model = await Model.create({ layers: [data.features, ...hidden, data.classes], activation: 'relu', seed: 1, dropout: p.dropout, imageShape: data.imageShape }, { backend: v.backend ?? 'auto' });
const opts = { epochs: 1, batchSize, optimizer: p.optimizer, learningRate: 0.01, momentum: 0.9 };
printEnvironment({});
console.log(`784-${hidden.join('-')}-10 relu, batch ${batchSize}, dropout ${p.dropout}, ${model.backend.name}, augment ${JSON.stringify(p.augment)}, mode ${mode}`);

let plain, aug;
if (mode === 'steps') {
  // the session fit() would plan, then fit()'s step (load, forward, loss, backward, update)
  const s = model.plan(batchSize, 'momentum', [data.train], resolveAugment(p.augment));
  const r = s.resident.get(data.train);
  const N = data.train.count, order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  model.rng.shuffle(order);
  model.setOrder(s, order);
  const o = { type: p.optimizer, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  const t = [0, 0];
  for (let start = -20 * batchSize; start + batchSize <= N; start += batchSize) { // 20 untimed warm-up pairs
    for (const a of [0, 1]) { // the same batch, plain then augmented
      const t0 = performance.now();
      model.loadBatch(s, r, Math.max(0, start), batchSize, a === 1);
      model.forward(s, batchSize, true);
      model.lossForward(s, batchSize);
      model.backward(s, batchSize);
      model.update(s, o, 0.001);
      if (start >= 0) t[a] += performance.now() - t0;
    }
  }
  [plain, aug] = t;
  console.log(`one epoch of steps: plain ${plain.toFixed(0)} ms, augmented ${aug.toFixed(0)} ms`);
} else {
  const ps = [], as = [];
  for (let i = 0; i < repeats; i++) {
    for (const a of i % 2 ? [true, false] : [false, true]) {
      const h = await model.fit(data.train, { ...opts, augment: a ? p.augment : false });
      (a ? as : ps).push(h.epochs[0].epochMs);
      console.log(`  ${a ? 'augmented' : 'plain    '} epoch ${h.epochs[0].epochMs.toFixed(0)} ms`);
    }
  }
  [plain, aug] = [median(ps), median(as)];
  console.log(`median plain ${plain.toFixed(0)} ms, augmented ${aug.toFixed(0)} ms`);
  console.log(`pair ratio augmented/plain ${pairRatio(as, ps).toFixed(3)} (median over the ${repeats} pairs)`);
}
console.log(`ratio augmented/plain ${(aug / plain).toFixed(3)} (overhead ${((aug / plain - 1) * 100).toFixed(1)}%)`);
