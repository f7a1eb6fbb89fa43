#!/usr/bin/env node
// Whole training epochs (fit(), or with --evaluate Model.evaluate passes over the test set) of two
// sides in ONE process, alternating, so machine noise falls on both; optionally the time of chosen
// backend calls inside those epochs (--kernels), and at the end whether both models hold the same
// weights bit for bit. One process is quick but biased: the first-made model measured up to ~5%
// slower whatever its build, so judge small effects with epochs-procs.mjs. See bench/ab/README.md.
import {
  describe, describeRatio, describeWorkload, fail, fitOptions, interleave, mnist, modelFor, options, paramsOf, parseSide,
  printEnvironment, sameBits, timed, workload, WORKLOAD_OPTIONS,
} from './harness.mjs';

const USAGE = 'node bench/ab/epochs.mjs [--a SPEC] [--b SPEC] [--workload W1|W2] [--hidden N,...] [--activation A] [--optimizer O] [--lr X] [--batch N] [--pairs 5] [--warmup 1] [--kernels NAME,...|all] [--evict] [--evaluate] [--eval-batch 1000] [--quick]';
const o = options({ ...WORKLOAD_OPTIONS, kernels: { type: 'string' }, evict: { type: 'boolean' }, evaluate: { type: 'boolean' }, 'eval-batch': { type: 'string' } }, USAGE, { pairs: 5, warmup: 1, 'eval-batch': 1000 });
if (o.quick) o.pairs = Math.min(o.pairs, 2);
const evalBatch = o.count('eval-batch', 1);
const w = workload(o, USAGE);
const sides = { A: parseSide(o.a, USAGE), B: parseSide(o.b, USAGE) };

const runs = {};
for (const [name, side] of Object.entries(sides)) {
  const { lib, backend, model } = await modelFor(side, w);
  // --kernels: wrap those backend methods (all: every one) so the calls inside the epoch are timed
  // (a method that calls another public one counts in both)
  const spent = {}, perRun = {};
  const names = o.kernels === 'all' ? allMethods(backend) : (o.kernels ?? '').split(',').filter(Boolean);
  for (const k of names) {
    if (typeof backend[k] !== 'function') fail(`--kernels: the backend has no method '${k}'`, USAGE);
    const f = backend[k].bind(backend);
    backend[k] = (...args) => { const t0 = performance.now(); try { return f(...args); } finally { spent[k] = (spent[k] ?? 0) + performance.now() - t0; } };
  }
  runs[name] = { side, lib, backend: lib.backendLabel(backend), be: backend, model, spent, perRun };
}
const data = mnist(runs.A.lib, o.quick);
const evict = o.evict ? new Uint8Array(512 << 20) : null;

const run = (r) => async (p) => {
  if (evict) evict.fill(p & 0xff); // caches start cold, as in bench:compare where the other peers' data pass between epochs
  for (const k of Object.keys(r.spent)) r.spent[k] = 0;
  const ms = await timed(() => (o.evaluate ? r.model.evaluate(data.test, { batchSize: evalBatch }) : r.model.fit(data.train, fitOptions(w))));
  if (p >= 0) for (const [k, v] of Object.entries(r.spent)) (r.perRun[k] ??= []).push(v);
  return ms;
};

printEnvironment(runs);
console.log(`# ${o.evaluate ? `evaluate: ${data.test.count} test images, batch ${evalBatch}, model of` : `train: ${data.train.count} images an epoch,`} ${describeWorkload(w)}; ${o.warmup} warm-up + ${o.pairs} pairs${o.evict ? ', 512 MB written before each' : ''}`);
const res = await interleave(o.pairs, run(runs.A), run(runs.B), { warmup: o.warmup });
const unit = o.evaluate ? 'ms a pass' : 'ms an epoch';
for (const [name, times] of [['A', res.a], ['B', res.b]]) {
  console.log(`${name} ${describe(times, unit)}, test accuracy ${runs[name].model.evaluate(data.test).accuracy}`);
  const kernels = Object.entries(runs[name].perRun).sort((x, y) => y[1].reduce((s, v) => s + v, 0) - x[1].reduce((s, v) => s + v, 0));
  for (const [k, ts] of kernels) if (ts.some((t) => t > 0)) console.log(`  ${k.padEnd(28)} ${describe(ts, unit, 1)}`);
}
console.log(describeRatio(res.a, res.b));
console.log(`weights bit-identical: ${sameBits(paramsOf(runs.A.model), paramsOf(runs.B.model))}`);
for (const r of Object.values(runs)) await r.be.close?.();

/** every method of a backend but the constructor */
function allMethods(be) {
  const names = new Set();
  for (let p = Object.getPrototypeOf(be); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && typeof be[k] === 'function') names.add(k);
  }
  return [...names];
}
