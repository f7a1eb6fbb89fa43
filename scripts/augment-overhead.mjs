#!/usr/bin/env node
/**
 * Epoch overhead of --augment: trains the same model one epoch at a time on the real MNIST,
 * alternating plain and augmented epochs (interleaved, so machine load hits both alike), and prints
 * the median epoch time of each and their ratio. Run `npm run build` first.
 *
 *   node scripts/augment-overhead.mjs [--hidden 800,800] [--repeats 3] [--batch-size 64] [--backend wasm-simd]
 */
import { parseArgs } from 'node:util';
import { Model, loadMnist } from '../dist/node.js';
import { AUGMENTED_PRESETS } from '../dist/presets.js';

const { values: v } = parseArgs({ options: { hidden: { type: 'string' }, repeats: { type: 'string' }, 'batch-size': { type: 'string' }, backend: { type: 'string' } } });
const p = AUGMENTED_PRESETS['best-mlp'].settings;
const hidden = v.hidden ? v.hidden.split(',').map(Number) : p.hidden;
const repeats = Number(v.repeats ?? 3), batchSize = Number(v['batch-size'] ?? p.batchSize);
const data = loadMnist();
const model = await Model.create({ layers: [data.features, ...hidden, data.classes], activation: 'relu', seed: 1, dropout: p.dropout, imageShape: data.imageShape }, { backend: v.backend ?? 'auto' });
const opts = { epochs: 1, batchSize, optimizer: p.optimizer, learningRate: 0.01, momentum: 0.9 };
const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const plain = [], aug = [];
console.log(`784-${hidden.join('-')}-10 relu, batch ${batchSize}, ${model.backend.name}, augment ${JSON.stringify(p.augment)}, ${repeats} interleaved pairs`);
for (let i = 0; i < repeats; i++) {
  for (const a of i % 2 ? [true, false] : [false, true]) {
    const h = await model.fit(data.train, { ...opts, augment: a ? p.augment : false });
    const ms = h.epochs[0].epochMs;
    (a ? aug : plain).push(ms);
    console.log(`  ${a ? 'augmented' : 'plain    '} epoch ${ms.toFixed(0)} ms`);
  }
}
const mp = median(plain), ma = median(aug);
console.log(`median plain ${mp.toFixed(0)} ms, augmented ${ma.toFixed(0)} ms: ratio ${(ma / mp).toFixed(3)} (overhead ${((ma / mp - 1) * 100).toFixed(1)}%)`);
