#!/usr/bin/env node
// W4, the Keras mnist_convnet (bench/workloads.mjs), trained by simdnet's layers: N batches of two
// sides (default: 1 and 2 threads) alternating in one process, the pair ratio of their times and
// whether both end with the same weights; then, with --epoch, one whole epoch on side A (fresh model,
// the same seed) and its accuracy on the 10,000 test images, and the process's peak RSS. --kernels
// also times the backend calls inside the runs (the conv and pooling ops per layer, by input
// channels) and prints each op's median per side and its pair ratio. With --infer, W5 instead: each
// side trains its model on the first N batches once (untimed), then the runs are inference on the
// 10,000 test images in batches of 1,000 (Model.evaluate), and the last line says whether both sides
// give the same loss bits.
// See bench/ab/README.md.
import { backendFor, describe, describeRatio, fail, interleave, library, median, mnist, options, pairRatio, parseSide, printEnvironment, sameBits, timed } from './harness.mjs';
import { CNN_WORKLOADS } from '../workloads.mjs';
import { timeBackendCalls } from '../op-timer.mjs';

const USAGE = 'node bench/ab/cnn-epochs.mjs [--a SPEC] [--b SPEC] [--batches 100] [--pairs 5] [--warmup 1] [--kernels] [--epoch] [--infer] [--quick]';
const o = options({ batches: { type: 'string' }, epoch: { type: 'boolean' }, kernels: { type: 'boolean' }, infer: { type: 'boolean' } }, USAGE, { pairs: 5, warmup: 1, batches: 100 });
if (o.quick) (o.pairs = Math.min(o.pairs, 2)), (o.batches = 3), (o.warmup = 0);
const batches = o.quick ? 3 : o.count('batches', 1);
const w = CNN_WORKLOADS.find((x) => x.name === 'W4');
const sides = { A: parseSide(o.a ?? 'threads=1', USAGE), B: parseSide(o.b ?? 'threads=2', USAGE) };

/** the W4 network from a side's library (its layer factories) */
function network(lib) {
  if (typeof lib.conv2d !== 'function') fail('this checkout has no conv2d layer (simdnet before convolutional layers)', USAGE);
  const { conv2d, maxPool2d, flatten, dropout, dense } = lib;
  return { inputShape: [28, 28], seed: w.seed, layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(w.dropout), dense(10)] };
}
const fitOptions = { epochs: 1, batchSize: w.batchSize, optimizer: w.optimizer, learningRate: w.lr, beta1: w.beta1, beta2: w.beta2, epsilon: w.epsilon, yieldMs: 60_000 };

const runs = {};
for (const [name, side] of Object.entries(sides)) {
  const lib = await library(side.root);
  const be = await backendFor(side);
  runs[name] = { side, lib, be, backend: lib.backendLabel(be), model: null, spent: new Map(), perRun: new Map() };
  // --kernels: every backend op of the run timed into its `spent`, conv and pooling ops by their input channels
  if (o.kernels) timeBackendCalls(be, (key, ms) => runs[name].spent.set(key, (runs[name].spent.get(key) ?? 0) + ms));
}
const data = mnist(runs.A.lib, o.quick);
const part = { ...data.train, count: Math.min(data.train.count, batches * w.batchSize) };

// each run: a fresh model (the same seed on both sides) trains the first `batches` batches
const run = (r) => async (p) => {
  r.model?.dispose();
  r.model = new r.lib.Model(network(r.lib), r.be);
  r.spent.clear();
  const ms = await timed(() => r.model.fit(part, fitOptions));
  if (p >= 0) for (const [k, v] of r.spent) r.perRun.set(k, [...(r.perRun.get(k) ?? []), v / batches]);
  return ms;
};

printEnvironment(runs);
if (o.infer) {
  // W5: the same trained weights on both sides (the same seed, the same batches), then inference passes
  for (const r of Object.values(runs)) {
    r.model = new r.lib.Model(network(r.lib), r.be);
    await r.model.fit(part, fitOptions);
  }
  const evaluation = {};
  const pass = (name) => () => timed(() => (evaluation[name] = runs[name].model.evaluate(data.test, { batchSize: 1000 })));
  console.log(`# W5 (mnist_convnet inference): ${data.test.count} test images in batches of 1,000 per run, weights from ${batches} training batches; ${o.warmup} warm-up + ${o.pairs} pairs`);
  const res = await interleave(o.pairs, pass('A'), pass('B'), { warmup: o.warmup });
  console.log(`A ${describe(res.a, 'ms a pass')}`);
  console.log(`B ${describe(res.b, 'ms a pass')}`);
  console.log(describeRatio(res.a, res.b));
  console.log(`A ${(data.test.count / (median(res.a) / 1000)).toFixed(0)}, B ${(data.test.count / (median(res.b) / 1000)).toFixed(0)} samples/s (medians)`);
  console.log(`loss bit-identical: ${Object.is(evaluation.A.loss, evaluation.B.loss)}; accuracy A ${(evaluation.A.accuracy * 100).toFixed(2)}%, B ${(evaluation.B.accuracy * 100).toFixed(2)}%`);
  for (const r of Object.values(runs)) await r.be.close?.();
  process.exit(0);
}
console.log(`# W4 (mnist_convnet, ${w.optimizer} lr ${w.lr}, batch ${w.batchSize}): ${batches} batches (${part.count} images) per run; ${o.warmup} warm-up + ${o.pairs} pairs`);
const res = await interleave(o.pairs, run(runs.A), run(runs.B), { warmup: o.warmup });
console.log(`A ${describe(res.a, `ms for ${batches} batches`)}`);
console.log(`B ${describe(res.b, `ms for ${batches} batches`)}`);
console.log(describeRatio(res.a, res.b));
if (o.kernels) {
  console.log('# ms per batch inside the runs: median A, median B, A/B pair ratio');
  const keys = [...runs.A.perRun.keys()].filter((k) => runs.B.perRun.has(k)).sort((x, y) => median(runs.A.perRun.get(y)) - median(runs.A.perRun.get(x)));
  for (const k of keys) {
    const a = runs.A.perRun.get(k), b = runs.B.perRun.get(k);
    if (median(a) < 0.05 && median(b) < 0.05) continue;
    console.log(`  ${k.padEnd(30)} ${median(a).toFixed(2).padStart(7)} ${median(b).toFixed(2).padStart(7)}  ${pairRatio(a, b).toFixed(2)}`);
  }
}
console.log(`weights bit-identical: ${sameBits(runs.A.model.readParams(), runs.B.model.readParams())}`);
if (o.epoch) {
  const r = runs.A;
  r.model.dispose();
  r.model = new r.lib.Model(network(r.lib), r.be);
  const ms = await timed(() => r.model.fit(data.train, fitOptions));
  const acc = r.model.evaluate(data.test, { batchSize: 1000 }).accuracy;
  console.log(`A: one epoch (${data.train.count} images) in ${(ms / 1000).toFixed(1)} s; test accuracy ${(acc * 100).toFixed(2)}% (${data.test.count} test images)`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
for (const r of Object.values(runs)) await r.be.close?.();
