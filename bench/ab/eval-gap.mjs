#!/usr/bin/env node
// How long does fit()'s per-epoch evaluation of the test set hold the event loop? W4, the Keras
// mnist_convnet (bench/workloads.mjs), trains --batches batches, then evaluates the 10,000 test
// images as fit()'s testData (default yieldMs 50); a 5 ms timer measures the longest gap between its
// ticks from the epoch's last batch to onEpochEnd. Sides alternate (default: both this checkout; give
// --a ../main for the A/B); each prints the longest gap and the evaluation's wall time (medians over
// the pairs) and whether both sides' test figures are bit-identical. See bench/ab/README.md.
import { backendFor, describe, fail, interleave, library, mnist, options, parseSide, printEnvironment } from './harness.mjs';
import { CNN_WORKLOADS } from '../workloads.mjs';

const USAGE = 'node bench/ab/eval-gap.mjs [--a SPEC] [--b SPEC] [--batches 10] [--pairs 3] [--warmup 0] [--quick]';
const o = options({ batches: { type: 'string' } }, USAGE, { pairs: 3, warmup: 0, batches: 10 });
if (o.quick) o.pairs = 1;
const batches = o.quick ? 2 : o.count('batches', 1);
const w = CNN_WORKLOADS.find((x) => x.name === 'W4');
const sides = { A: parseSide(o.a, USAGE), B: parseSide(o.b, USAGE) };

function network(lib) {
  if (typeof lib.conv2d !== 'function') fail('this checkout has no conv2d layer (simdnet before convolutional layers)', USAGE);
  const { conv2d, maxPool2d, flatten, dropout, dense } = lib;
  return { inputShape: [28, 28], seed: w.seed, layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(w.dropout), dense(10)] };
}

const runs = {};
for (const [name, side] of Object.entries(sides)) {
  const lib = await library(side.root);
  const be = await backendFor(side);
  runs[name] = { side, lib, be, backend: lib.backendLabel(be), gaps: [], evalMs: [], test: null };
}
const data = mnist(runs.A.lib, o.quick);
const part = { ...data.train, count: Math.min(data.train.count, batches * w.batchSize) };

/** one run: a fresh model trains the batches, then fit() evaluates the test set; returns the evaluation's wall ms */
const run = (r) => async () => {
  const model = new r.lib.Model(network(r.lib), r.be);
  const last = Math.ceil(part.count / w.batchSize) - 1;
  let t0 = 0, tick = 0, gap = 0, on = false;
  const timer = setInterval(() => {
    const t = performance.now();
    if (on) gap = Math.max(gap, t - tick);
    tick = t;
  }, 5);
  let ms = 0;
  await model.fit(part, {
    epochs: 1, batchSize: w.batchSize, optimizer: w.optimizer, learningRate: w.lr, beta1: w.beta1, beta2: w.beta2, epsilon: w.epsilon, testData: data.test,
    callbacks: {
      onBatchEnd: (b) => { if (b === last) { t0 = tick = performance.now(); on = true; } },
      onEpochEnd: (_e, logs) => {
        const t = performance.now();
        gap = Math.max(gap, t - tick);
        on = false;
        ms = t - t0;
        r.test = [logs.testLoss, logs.testAccuracy];
      },
    },
  });
  clearInterval(timer);
  model.dispose();
  r.gaps.push(gap);
  return ms;
};
printEnvironment(runs);
console.log(`# W4 (mnist_convnet, batch ${w.batchSize}): ${batches} training batches, then fit()'s evaluation of ${data.test.count} test images; ${o.warmup} warm-up + ${o.pairs} pairs`);
const res = await interleave(o.pairs, run(runs.A), run(runs.B), { warmup: o.warmup });
for (const [name, r] of Object.entries(runs)) {
  const gaps = r.gaps.slice(-o.pairs);
  console.log(`${name} longest event-loop gap during the evaluation: ${describe(gaps, 'ms')}; the evaluation ${describe(name === 'A' ? res.a : res.b, 'ms')}`);
}
console.log(`test loss and accuracy bit-identical: ${Object.is(runs.A.test[0], runs.B.test[0]) && Object.is(runs.A.test[1], runs.B.test[1])}`);
for (const r of Object.values(runs)) await r.be.close?.();
