#!/usr/bin/env node
// This machine's f32x4 multiply + add peak right now (bench/peak.ts, the first row of `npm run
// bench`), alone: --pairs runs of the loop, GFLOP/s. The ceiling the kernels' GFLOP/s are read
// against; it moves with the host's load, so measure it beside the figures it scales.
// See bench/ab/README.md.
import { compilePeak, PEAK_FLOPS_PER_ITER } from '../peak-probe.mjs';
import { describe, fail, options, printEnvironment } from './harness.mjs';

const USAGE = 'node bench/ab/peak.mjs [--pairs 15] [--quick]';
const o = options({}, USAGE, { pairs: 15, warmup: 1 });
if (o.a || o.b) fail('peak.mjs measures this machine, not two sides: drop --a/--b', USAGE);
let peak;
try {
  ({ peak } = compilePeak());
} catch (e) {
  fail(`cannot build bench/peak.ts: ${String(e.message).split('\n')[0]}`);
}
const n = o.quick ? 200_000 : 2_000_000, runs = o.quick ? Math.min(o.pairs, 3) : o.pairs;
printEnvironment({});
for (let i = 0; i < o.warmup; i++) peak(1024, n);
const g = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  peak(1024, n);
  g.push((n * PEAK_FLOPS_PER_ITER) / ((performance.now() - t0) / 1000) / 1e9);
}
console.log(`f32x4 mul+add peak: ${describe(g, 'GFLOP/s', 1)}`);
