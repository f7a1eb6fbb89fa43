#!/usr/bin/env node
// The TS backend's convolution and max-pooling ops on the Keras mnist_convnet shapes (batch 128,
// real MNIST images; layer 2's input and both output gradients come from relu + 2x2 max-pooling of
// a real forward pass, as bench/conv-kernels.mjs makes them):
//   layer 1: 28x28x1 -> conv 3x3x32 valid -> 26x26x32 -> maxpool 2 -> 13x13x32
//   layer 2: 13x13x32 -> conv 3x3x64 valid -> 11x11x64 -> maxpool 2 -> 5x5x64
// Three sides on the same operands:
//   ref   the plain reference (src/backends/ts/{conv,pool}-reference.ts): every product computed
//   fast  the TS backend's ops (src/backends/ts/{conv,pool}.ts): bit-identical to ref (checked here first)
//   tfjs  TensorFlow.js 4.22's cpu backend (pure JS): fused conv2d + bias, conv2dTranspose (its
//         Conv2DBackpropInput), Conv2DBackpropFilter + the bias gradient's sum, maxPool, MaxPoolGrad
//         (results checked against ours to a tolerance: it sums in doubles, in its own order)
// Rounds are interleaved (the sides' order rotates) after an untimed warm-up round; each time is a median over rounds; the ratios
// are of medians. Appends one JSON line to bench/results/ts-conv.jsonl.
//   node bench/ts-conv.mjs [--rounds N] [--no-ref] [--quick] [--json]   (--quick: batch 2, one round, nothing appended)
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { loadMnist } from '../dist/io/mnist.js';
import { Rng } from '../dist/core/rng.js';
import * as fast from '../dist/backends/ts/conv.js';
import * as fastPool from '../dist/backends/ts/pool.js';
import * as ref from '../dist/backends/ts/conv-reference.js';
import * as refPool from '../dist/backends/ts/pool-reference.js';
import { median } from './stats.mjs';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const withRef = !process.argv.includes('--no-ref');
const ROUNDS = Number(arg('--rounds', quick ? 1 : 5));
const B = quick ? 2 : 128;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const tf = createRequire(import.meta.url)('@tensorflow/tfjs');
await tf.setBackend('cpu');
await tf.ready();

// ---- realistic operands (as bench/conv-kernels.mjs) ----------------------------------------
const rng = new Rng(7);
const uniform = (n, a) => Float32Array.from({ length: n }, () => (2 * rng.float() - 1) * a);
const mnist = loadMnist();
const x1 = new Float32Array(B * 784);
for (let i = 0; i < x1.length; i++) x1[i] = mnist.train.images[i] / 255;

/** relu of y (B, H, W, C), then the TS backend's 2x2 max-pool: the pooled values, argmax, and the relu'd input */
function reluPool(y, H, W, C) {
  const r = y.map((v) => Math.max(v, 0));
  const PH = H >> 1, PW = W >> 1, pooled = new Float32Array(B * PH * PW * C), argmax = new Int32Array(pooled.length);
  fastPool.maxpool2dForward(pooled, argmax, r, B, H, W, C, 2, 2, false);
  return { r, pooled, argmax };
}
/** the gradient reaching a conv output through relu + maxpool: a random value where a positive pooled max came from, else 0 */
function poolGrad(n, pooled, argmax, PHWC, HWC) {
  const d = new Float32Array(n);
  for (let i = 0; i < pooled.length; i++) if (pooled[i] > 0) d[Math.floor(i / PHWC) * HWC + argmax[i]] = 2 * rng.float() - 1;
  return d;
}

const L = [
  { name: 'layer 1', H: 28, W: 28, C: 1, OC: 32 },
  { name: 'layer 2', H: 13, W: 13, C: 32, OC: 64 },
];
let prev = x1;
for (const l of L) {
  Object.assign(l, { OH: l.H - 2, OW: l.W - 2, K: 9 * l.C });
  l.P = B * l.OH * l.OW;
  l.macs = l.P * l.K * l.OC;
  l.x = prev;
  l.w = uniform(l.K * l.OC, Math.sqrt(6 / l.K));
  l.bias = uniform(l.OC, 0.05);
  l.y = new Float32Array(l.P * l.OC);
  fast.conv2dForward(l.y, l.x, l.w, l.bias, B, l.H, l.W, l.C, l.OC, 3, 3, 1, false, 0);
  const { r, pooled, argmax } = reluPool(l.y, l.OH, l.OW, l.OC);
  l.r = r;
  l.pooled = pooled;
  l.argmax = argmax;
  l.PH = l.OH >> 1;
  l.PW = l.OW >> 1;
  l.dpool = uniform(pooled.length, 1);
  l.dout = poolGrad(l.y.length, pooled, argmax, l.PH * l.PW * l.OC, l.OH * l.OW * l.OC);
  prev = pooled;
}
const zeros = (a) => a.reduce((n, v) => n + (v === 0), 0) / a.length;

// ---- the ops: each side a function returning its result -----------------------------------------
const ops = [];
for (const l of L) {
  const { H, W, C, OC, OH, OW, PH, PW, K } = l;
  const out = new Float32Array(l.P * OC), dinp = new Float32Array(B * H * W * C), wT = new Float32Array(K * OC), dw = new Float32Array(K * OC), db = new Float32Array(OC);
  const pout = new Float32Array(B * PH * PW * OC), pam = new Int32Array(pout.length), pdin = new Float32Array(B * OH * OW * OC);
  const tx = tf.tensor4d(l.x, [B, H, W, C]), tw = tf.tensor4d(l.w, [3, 3, C, OC]), tb = tf.tensor1d(l.bias), tdy = tf.tensor4d(l.dout, [B, OH, OW, OC]);
  const tr = tf.tensor4d(l.r, [B, OH, OW, OC]), tpool = tf.maxPool(tr, 2, 2, 'valid'), tdpool = tf.tensor4d(l.dpool, [B, PH, PW, OC]);
  const run = (fn) => () => {
    const t = fn();
    const v = Array.isArray(t) ? t.map((u) => u.dataSync()) : t.dataSync();
    tf.dispose(t);
    return v;
  };
  ops.push({
    name: `${l.name} forward`, macs: l.macs, zeros: zeros(l.x),
    ref: () => (ref.conv2dForwardRef(out, l.x, l.w, l.bias, B, H, W, C, OC, 3, 3, 1, false, 0), out),
    fast: () => (fast.conv2dForward(out, l.x, l.w, l.bias, B, H, W, C, OC, 3, 3, 1, false, 0), out),
    tfjs: run(() => tf.fused.conv2d({ x: tx, filter: tw, bias: tb, strides: 1, pad: 'valid' })),
  });
  if (l.C > 1) {
    ops.push({
      name: `${l.name} input gradient`, macs: l.macs, zeros: zeros(l.dout),
      ref: () => (ref.conv2dFilterTransposeRef(wT, l.w, 3, 3, C, OC), ref.conv2dBackwardInputRef(dinp, l.dout, wT, B, H, W, C, OC, 3, 3, 1, false), dinp),
      fast: () => (fast.conv2dFilterTranspose(wT, l.w, 3, 3, C, OC), fast.conv2dBackwardInput(dinp, l.dout, wT, B, H, W, C, OC, 3, 3, 1, false), dinp),
      tfjs: run(() => tf.conv2dTranspose(tdy, tw, [B, H, W, C], 1, 'valid')),
    });
  }
  ops.push({
    name: `${l.name} filter + bias gradient`, macs: l.macs, zeros: zeros(l.dout),
    ref: () => (dw.fill(0), db.fill(0), ref.conv2dBackwardFilterRef(dw, db, l.dout, l.x, B, H, W, C, OC, 3, 3, 1, false), [dw, db]),
    fast: () => (dw.fill(0), db.fill(0), fast.conv2dBackwardFilter(dw, db, l.dout, l.x, B, H, W, C, OC, 3, 3, 1, false), [dw, db]),
    tfjs: run(() => [tf.engine().runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, C, OC] }), tf.sum(tdy, [0, 1, 2])]),
  });
  ops.push({
    name: `${l.name} maxpool forward`, zeros: zeros(l.r),
    ref: () => (refPool.maxpool2dForwardRef(pout, pam, l.r, B, OH, OW, OC, 2, 2, false), [pout, pam]),
    fast: () => (fastPool.maxpool2dForward(pout, pam, l.r, B, OH, OW, OC, 2, 2, false), [pout, pam]),
    tfjs: run(() => tf.maxPool(tr, 2, 2, 'valid')),
  });
  ops.push({
    name: `${l.name} maxpool backward`, zeros: 0,
    ref: () => (refPool.maxpool2dBackwardRef(pdin, l.dpool, l.argmax, B, OH, OW, OC, 2, 2, false), pdin),
    fast: () => (fastPool.maxpool2dBackward(pdin, l.dpool, l.argmax, B, OH, OW, OC, 2, 2, false), pdin),
    tfjs: run(() => tf.engine().runKernel('MaxPoolGrad', { dy: tdpool, input: tr, output: tpool }, { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined })),
  });
}

// ---- checks: fast equals ref bit for bit; tfjs agrees to a tolerance --------------------------
const flat = (v) => (Array.isArray(v) ? v : [v]).map((a) => (a instanceof Int32Array ? a : new Uint32Array(a.buffer, a.byteOffset, a.length)).slice());
const copy = (v) => (Array.isArray(v) ? v : [v]).map((a) => Float32Array.from(a));
for (const op of ops) {
  const a = flat(op.fast()), b = flat(op.ref());
  if (!a.every((x, i) => x.length === b[i].length && x.every((u, k) => u === b[i][k]))) throw new Error(`${op.name}: the fast path differs from the reference`);
  const t = op.tfjs(), theirs = Array.isArray(t) ? t : [t], mine = copy(op.fast());
  let worst = 0;
  for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
    if (mine[i].length !== theirs[i].length) throw new Error(`${op.name}: tfjs's result has ${theirs[i].length} elements, ours ${mine[i].length}`);
    let scale = 0;
    for (const v of mine[i]) scale = Math.max(scale, Math.abs(v));
    for (let k = 0; k < mine[i].length; k++) worst = Math.max(worst, Math.abs(mine[i][k] - theirs[i][k]) / (scale || 1));
  }
  if (!(worst < 1e-4)) throw new Error(`${op.name}: tfjs's result differs from ours by ${worst} of the largest value`);
  op.tfjsDiff = worst;
}

// ---- timing -------------------------------------------------------------------------------------
const sides = withRef ? ['ref', 'fast', 'tfjs'] : ['fast', 'tfjs'];
const times = Object.fromEntries(ops.map((op) => [op.name, Object.fromEntries(sides.map((s) => [s, []]))]));
for (let r = quick ? 0 : -1; r < ROUNDS; r++) {
  // round -1: the warm-up, untimed (V8's tiers)
  for (const op of ops) {
    for (let k = 0; k < sides.length; k++) {
      const s = sides[(k + r + sides.length) % sides.length];
      const t0 = performance.now();
      op[s]();
      if (r >= 0) times[op.name][s].push(performance.now() - t0);
    }
  }
}

// ---- report -------------------------------------------------------------------------------------
const rows = ops.map((op) => {
  const m = Object.fromEntries(sides.map((s) => [s, median(times[op.name][s])]));
  return { op: op.name, zeros: op.zeros, ...Object.fromEntries(sides.map((s) => [`${s}Ms`, m[s]])), fastOverRef: withRef ? m.fast / m.ref : undefined, fastOverTfjs: m.fast / m.tfjs, fastGmacs: op.macs ? op.macs / m.fast / 1e6 : undefined, tfjsMaxRelDiff: op.tfjsDiff };
});
const env = { node: process.version, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, load: os.loadavg().map((v) => +v.toFixed(2)), time: new Date().toISOString(), batch: B, rounds: ROUNDS, tfjs: tf.version.tfjs, tfjsBackend: tf.getBackend() };
if (json) console.log(JSON.stringify({ env, rows }));
else {
  console.log(`Node ${env.node}, ${env.cpus} x ${env.cpu}, load ${env.load.join(' ')}; batch ${B}, ${ROUNDS} interleaved rounds, medians; tfjs ${env.tfjs} (${env.tfjsBackend})`);
  console.log(`fast = the TS backend's ops (bit-identical to ref, checked); ref = the plain reference; tfjs = TensorFlow.js cpu`);
  const head = ['op', 'zeros', ...sides.map((s) => `${s} ms`), ...(withRef ? ['fast/ref'] : []), 'fast/tfjs', 'fast GMAC/s'];
  console.log(head.join(' | '));
  for (const r of rows) console.log([r.op, `${Math.round(r.zeros * 100)}%`, ...sides.map((s) => r[`${s}Ms`].toFixed(1)), ...(withRef ? [r.fastOverRef.toFixed(3)] : []), r.fastOverTfjs.toFixed(3), r.fastGmacs ? r.fastGmacs.toFixed(2) : ''].join(' | '));
  const sum = (s) => rows.reduce((a, r) => a + r[`${s}Ms`], 0);
  console.log(['all ops of a training step', '', ...sides.map((s) => sum(s).toFixed(1)), ...(withRef ? [(sum('fast') / sum('ref')).toFixed(3)] : []), (sum('fast') / sum('tfjs')).toFixed(3), ''].join(' | '));
}
if (!quick) appendFileSync(join(root, 'bench', 'results', 'ts-conv.jsonl'), JSON.stringify({ env, rows }) + '\n');
