#!/usr/bin/env node
// Where a W4 training step's time goes (bench/workloads.mjs: the Keras mnist_convnet, Adam, batch
// 128): every backend op timed from the host, per batch and as a share of the step, the conv and
// pooling ops per layer (by input channels), and the conv ops' rate in dense-equivalent GMAC/s.
// Then (--infer) the same for inference in batches of 1,000 (W5). --preset cnn|best-cnn times that
// preset's step instead (its network, batch size, optimizer, learning rate and augmentation).
//   npm run build && node bench/cnn-ops.mjs [--threads 1] [--batches 40] [--backend wasm-simd] [--infer] [--preset best-cnn]
// Timing from the host adds a few microseconds per call; the shares, not the sums, are the point.
import { parseArgs } from 'node:util';
import { conv2d, createBackend, dense, dropout, fit, flatten, loadMnist, maxPool2d, Model } from '../dist/node.js';
import { PRESETS } from '../dist/train/presets.js';
import { CNN_WORKLOADS } from './workloads.mjs';
import { timeBackendCalls } from './op-timer.mjs';

const { values: o } = parseArgs({ options: { threads: { type: 'string', default: '1' }, batches: { type: 'string', default: '40' }, backend: { type: 'string', default: 'wasm-simd' }, infer: { type: 'boolean', default: false }, preset: { type: 'string' } } });
const threads = Number(o.threads), batches = Number(o.batches);
const preset = o.preset === undefined ? undefined : PRESETS[o.preset]?.settings;
if (!(threads >= 1) || !(batches >= 1) || (o.preset !== undefined && !preset?.layers)) {
  process.stderr.write('usage: node bench/cnn-ops.mjs [--threads N] [--batches N] [--backend wasm-simd|wasm-scalar|ts] [--infer] [--preset cnn|best-cnn]\n');
  process.exit(2);
}
const w = CNN_WORKLOADS.find((x) => x.name === 'W4');
const be = await createBackend({ prefer: o.backend, threads });

// every op on the backend, timed; conv and pooling ops keyed by their input channels (the layer)
const times = new Map(), calls = new Map(), macs = new Map();
timeBackendCalls(be, (key, ms, name, a) => {
  times.set(key, (times.get(key) ?? 0) + ms);
  calls.set(key, (calls.get(key) ?? 0) + 1);
  if (name.startsWith('conv2d_') && name !== 'conv2d_filter_transpose') {
    // dense-equivalent multiply-adds: B OH OW OC KH KW C (valid padding, stride 1 as in W4)
    const [B, H, W, C, OC, KH, KW] = name === 'conv2d_backward_input' ? a.slice(3, 10) : a.slice(4, 11);
    macs.set(key, (macs.get(key) ?? 0) + B * (H - KH + 1) * (W - KW + 1) * OC * KH * KW * C);
  }
});
const reset = () => [times, calls, macs].forEach((m) => m.clear());
const data = loadMnist();
const model = preset
  ? new Model({ inputShape: [28, 28], loss: preset.loss, init: preset.init, seed: 1, layers: preset.layers }, be)
  : new Model({
    inputShape: [28, 28], loss: 'ce', init: 'xavier-uniform', seed: w.seed,
    layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(w.dropout), dense(10)],
  }, be);
const opts = preset
  ? { epochs: 1, batchSize: preset.batchSize, optimizer: preset.optimizer, learningRate: preset.lr, schedule: preset.schedule, augment: preset.augment, yieldMs: 60_000 }
  : { epochs: 1, batchSize: w.batchSize, optimizer: w.optimizer, learningRate: w.lr, beta1: w.beta1, beta2: w.beta2, epsilon: w.epsilon, yieldMs: 60_000 };
const name = preset ? `--preset ${o.preset}` : 'W4';

function print(title, total, n) {
  console.log(`${title}: ${total.toFixed(0)} ms, ${(total / n).toFixed(2)} ms per batch`);
  const rows = [...times].filter(([, t]) => t / total >= 0.001).sort((a, b) => b[1] - a[1]);
  for (const [k, t] of rows) {
    const rate = macs.has(k) ? `${(macs.get(k) / (t * 1e6)).toFixed(1).padStart(6)} GMAC/s` : '';
    console.log(`  ${k.padEnd(30)} ${(t / n).toFixed(3).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${(calls.get(k) / n).toFixed(2).padStart(5)} calls ${rate}`);
  }
}

console.log(`# ${be.name}, ${threads} thread${threads > 1 ? 's' : ''}, Node ${process.version}`);
const part = { ...data.train, count: opts.batchSize * batches };
await fit(model, part, opts); // warm-up (and the plan)
reset();
let t0 = performance.now();
await fit(model, part, opts); // (fit's check of the last update adds one forward pass)
print(`${name} training, ${batches} batches of ${opts.batchSize}`, performance.now() - t0, batches);
if (o.infer) {
  const test = { ...data.test, count: 5000 };
  model.evaluate(test, { batchSize: 1000 }); // plans the session
  reset();
  t0 = performance.now();
  model.evaluate(test, { batchSize: 1000 });
  print(`${preset ? name : 'W5'} inference, 5 batches of 1,000`, performance.now() - t0, 5);
}
await be.close?.();
