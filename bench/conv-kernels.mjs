#!/usr/bin/env node
// Convolution designs on the Keras mnist_convnet shapes (batch 128, real MNIST images):
//   layer 1: 28x28x1 -> conv 3x3x32 valid -> 26x26x32 (-> relu, maxpool 2 -> 13x13x32)
//   layer 2: 13x13x32 -> conv 3x3x64 valid -> 11x11x64 (-> relu, maxpool 2 -> 5x5x64)
// for the forward, the input gradient (layer 2: layer 1's input is the data) and the filter + bias
// gradient, each design:
//   direct    the library's kernels (assembly/conv.ts), on realistic zeros: the layer-2 input and
//             both output gradients come from relu + maxpool of the real forward pass
//   dense     the same kernels on the same shapes with no zeros (what the zero skipping saves)
//   im2col    im2col + the library's GEMM kernels (matmul_forward / matmul_backward_part), col2im
//   indirect  XNNPACK's indirect convolution (forward; indirection buffer built outside the timing)
//   nchw      the NCHW layout's forward (PyTorch's), SIMD across output columns (data and filters
//             transposed outside the timing; no zero skipping: a vector holds 4 pixels)
// bench/conv-designs.ts holds the im2col and indirect code (compiled here into build/conv-designs.wasm).
// Every design's result is checked against direct's before timing. Rounds are interleaved (the
// designs' order rotates), each figure is a median over rounds; GFLOP/s counts the dense 2 P K OC.
// Appends one JSON line to bench/results/conv-kernels.jsonl.
//   node bench/conv-kernels.mjs [--rounds N] [--quick] [--json]   (--quick: batch 8, one round, nothing appended: the smoke test)
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../dist/io/mnist.js';
import { Rng } from '../dist/core/rng.js';
import { PEAK_FLOPS_PER_ITER } from './peak-probe.mjs';
import { median, pairRatio } from './stats.mjs';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const ri = process.argv.indexOf('--rounds');
const ROUNDS = ri > 0 ? Number(process.argv[ri + 1]) : quick ? 1 : 11;
const B = quick ? 8 : 128;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---- the module -----------------------------------------------------------------------------
const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
const wasmPath = join(root, 'build', 'conv-designs.wasm');
execFileSync(process.execPath, [asc, 'conv-designs.ts', '-O3', '--enable', 'simd', '--runtime', 'stub', '--importMemory', '--noAssert', '--outFile', wasmPath], { cwd: join(root, 'bench'), stdio: 'pipe' });
const memory = new WebAssembly.Memory({ initial: 2048 }); // 128 MiB
const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), { env: { memory, abort() { throw new Error('abort'); } } }).exports;
let top = Math.ceil(k.heap_base() / 16) * 16;
const alloc = (n) => {
  const at = top;
  top += Math.ceil((n * 4) / 16) * 16;
  if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
  return { at, n };
};
const f32 = (t) => new Float32Array(memory.buffer, t.at, t.n);
const put = (values) => { const t = alloc(values.length); f32(t).set(values); return t; };

// ---- realistic operands ---------------------------------------------------------------------
const rng = new Rng(7);
const uniform = (n, a) => Float32Array.from({ length: n }, () => (2 * rng.float() - 1) * a);
const mnist = loadMnist();
const x1 = new Float32Array(B * 784);
for (let i = 0; i < x1.length; i++) x1[i] = mnist.train.images[i] / 255;

/** relu then 2x2 max-pool (valid) of (B, H, W, C): the pooled values and, for a gradient, where each came from */
function reluPool(y, H, W, C) {
  const PH = H >> 1, PW = W >> 1, pooled = new Float32Array(B * PH * PW * C), from = new Int32Array(pooled.length);
  for (let b = 0; b < B; b++) for (let ph = 0; ph < PH; ph++) for (let pw = 0; pw < PW; pw++) for (let c = 0; c < C; c++) {
    let m = -Infinity, at = -1;
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
      const i = ((b * H + 2 * ph + dy) * W + 2 * pw + dx) * C + c;
      if (y[i] > m) (m = y[i]), (at = i);
    }
    const o = ((b * PH + ph) * PW + pw) * C + c;
    pooled[o] = Math.max(m, 0);
    from[o] = m > 0 ? at : -1;
  }
  return { pooled, from };
}
/** the gradient reaching a conv output through relu + maxpool: a random value where a pooled max came from, else 0 */
function poolGrad(n, from) {
  const d = new Float32Array(n);
  for (const at of from) if (at >= 0) d[at] = 2 * rng.float() - 1;
  return d;
}

const L = [
  { name: 'layer 1', H: 28, W: 28, C: 1, OC: 32 },
  { name: 'layer 2', H: 13, W: 13, C: 32, OC: 64 },
];
let prev = x1;
for (const l of L) {
  l.OH = l.H - 2;
  l.OW = l.W - 2;
  l.P = B * l.OH * l.OW;
  l.K = 9 * l.C;
  l.flops = 2 * l.P * l.K * l.OC;
  l.x = prev;
  l.w = uniform(l.K * l.OC, Math.sqrt(6 / l.K));
  l.bias = uniform(l.OC, 0.05);
  const y = new Float32Array(l.P * l.OC);
  const [xi, wi, bi, yi] = [put(l.x), put(l.w), put(l.bias), alloc(y.length)];
  k.conv2d_forward(yi.at, xi.at, wi.at, bi.at, B, l.H, l.W, l.C, l.OC, 3, 3, 1, 0, 0, 0, B);
  y.set(f32(yi));
  const { pooled, from } = reluPool(y, l.OH, l.OW, l.OC);
  l.dout = poolGrad(y.length, from);
  prev = pooled;
}
/** (B, H, W, C) -> (B, C, H, W) and back; (3, 3, C, OC) -> (OC, C, 3, 3) */
function nhwcToNchw(x, H, W, C) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) y[((b * C + c) * H + h) * W + w] = x[((b * H + h) * W + w) * C + c];
  return y;
}
function nchwToNhwc(x, H, W, C) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) y[((b * H + h) * W + w) * C + c] = x[((b * C + c) * H + h) * W + w];
  return y;
}
function hwioToOihw(w, C, OC) {
  const y = new Float32Array(w.length);
  for (let t = 0; t < 9; t++) for (let c = 0; c < C; c++) for (let o = 0; o < OC; o++) y[(o * C + c) * 9 + t] = w[(t * C + c) * OC + o];
  return y;
}
const zeros = (a) => a.reduce((n, v) => n + (v === 0), 0) / a.length;

// ---- the designs ----------------------------------------------------------------------------
const cases = [];
for (const l of L) {
  const { H, W, C, OC, P, K } = l;
  const t = {
    x: put(l.x), w: put(l.w), bias: put(l.bias), dout: put(l.dout),
    xDense: put(l.x.map((v) => v || 0.5)), doutDense: put(l.dout.map((v) => v || 0.25)),
    out: alloc(P * OC), dinp: alloc(B * H * W * C), dw: alloc(K * OC), db: alloc(OC), wT: alloc(K * OC),
    col: alloc(P * K), ind: alloc(P * 9), zero: alloc(C),
    xNchw: put(nhwcToNchw(l.x, H, W, C)), wOihw: put(hwioToOihw(l.w, C, OC)), outNchw: alloc(P * OC),
  };
  k.indirection(t.ind.at, t.x.at, t.zero.at, B, H, W, C, 3, 3, 1, 0);
  const conv = (x) => () => k.conv2d_forward(t.out.at, x.at, t.w.at, t.bias.at, B, H, W, C, OC, 3, 3, 1, 0, 0, 0, B);
  const dinput = (d) => () => {
    k.conv2d_filter_transpose(t.wT.at, t.w.at, 3, 3, C, OC);
    k.conv2d_backward_input(t.dinp.at, d.at, t.wT.at, B, H, W, C, OC, 3, 3, 1, 0, 0, B);
  };
  const dfilter = (x, d) => () => {
    f32(t.dw).fill(0);
    f32(t.db).fill(0);
    k.conv2d_backward_filter(t.dw.at, t.db.at, d.at, x.at, B, H, W, C, OC, 3, 3, 1, 0, 0, OC, 0, 9 * C);
  };
  const add = (op, design, fn, result, toNhwc = (v) => v) => cases.push({ layer: l.name, op, design, fn, result, toNhwc, flops: l.flops, l });
  add('forward', 'direct', conv(t.x), t.out);
  add('forward', 'dense', conv(t.xDense), null);
  add('forward', 'im2col', () => {
    k.im2col(t.col.at, t.x.at, B, H, W, C, 3, 3, 1, 0);
    k.matmul_forward(t.out.at, t.col.at, t.w.at, t.bias.at, P, K, OC);
  }, t.out);
  add('forward', 'nchw', () => k.nchw_forward(t.outNchw.at, t.xNchw.at, t.wOihw.at, t.bias.at, B, H, W, C, OC, 3, 3), t.outNchw, (v) => nchwToNhwc(v, l.OH, l.OW, OC));
  add('forward', 'indirect', () => k.indirect_forward(t.out.at, t.ind.at, t.w.at, t.bias.at, P, 9, C, OC), t.out);
  if (C > 1) {
    add('dinput', 'direct', dinput(t.dout), t.dinp);
    add('dinput', 'dense', dinput(t.doutDense), null);
    add('dinput', 'im2col', () => {
      k.matmul_backward_part(t.col.at, t.dw.at, 0, t.dout.at, t.col.at, t.w.at, P, K, OC, 0, P, 0, 0);
      k.col2im(t.dinp.at, t.col.at, B, H, W, C, 3, 3, 1, 0);
    }, t.dinp);
  }
  add('dfilter', 'direct', dfilter(t.x, t.dout), t.dw);
  add('dfilter', 'dense', dfilter(t.xDense, t.doutDense), null);
  add('dfilter', 'im2col', () => {
    f32(t.dw).fill(0);
    f32(t.db).fill(0);
    k.im2col(t.col.at, t.x.at, B, H, W, C, 3, 3, 1, 0);
    k.matmul_backward_part(0, t.dw.at, t.db.at, t.dout.at, t.col.at, t.w.at, P, K, OC, 0, 0, 0, K);
  }, t.dw);
}

// verify: every design's result against direct's (the GEMM's sums run in another order: a tolerance)
for (const c of cases.filter((c) => c.result && c.design !== 'direct')) {
  const direct = cases.find((d) => d.layer === c.layer && d.op === c.op && d.design === 'direct');
  direct.fn();
  const want = f32(direct.result).slice();
  c.fn();
  const got = c.toNhwc(f32(c.result));
  let scale = 0, diff = 0;
  for (let i = 0; i < want.length; i++) (scale = Math.max(scale, Math.abs(want[i]))), (diff = Math.max(diff, Math.abs(got[i] - want[i])));
  if (!(diff <= 1e-5 * scale)) throw new Error(`${c.layer} ${c.op} ${c.design}: max |diff| ${diff} against direct (max ${scale})`);
}

// ---- time: interleaved rounds, medians --------------------------------------------------------
const peakBuf = alloc(4096);
const PEAK_N = 2e6;
const times = new Map(cases.map((c) => [c, []]));
const peaks = [];
for (let r = 0; r < ROUNDS; r++) {
  const order = cases.map((_, i) => cases[(i + r) % cases.length]);
  for (const c of order) {
    c.fn(); // warm
    const t0 = performance.now();
    c.fn();
    times.get(c).push(performance.now() - t0);
  }
  const t0 = performance.now();
  k.peak(peakBuf.at, PEAK_N);
  peaks.push((PEAK_N * PEAK_FLOPS_PER_ITER) / ((performance.now() - t0) * 1e6));
}
const peak = median(peaks);
const results = cases.map((c) => {
  const ms = median(times.get(c));
  const directTimes = times.get(cases.find((d) => d.layer === c.layer && d.op === c.op && d.design === 'direct'));
  const direct = median(directTimes);
  const paired = pairRatio(times.get(c), directTimes); // the ratio to direct within each round
  return { layer: c.layer, op: c.op, design: c.design, ms: +ms.toFixed(3), gflops: +(c.flops / ms / 1e6).toFixed(2), vsDirect: +paired.toFixed(3), ofPeak: +(c.flops / ms / 1e6 / peak).toFixed(3), directMs: +direct.toFixed(3) };
});
const sparsity = { 'layer 1 input zeros': zeros(L[0].x), 'layer 2 input zeros': zeros(L[1].x), 'layer 1 dout zeros': zeros(L[0].dout), 'layer 2 dout zeros': zeros(L[1].dout) };
let commit = '';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
} catch {}
const env = { node: process.version, platform: `${process.platform} ${process.arch}`, commit, batch: B, rounds: ROUNDS, quick };

const log = json ? () => {} : (...a) => console.log(...a);
log(`conv designs, Keras mnist_convnet shapes, batch ${B}, ${ROUNDS} interleaved rounds (medians); Node ${process.version}; f32x4 mul+add peak ${peak.toFixed(2)} GFLOP/s`);
log(`zeros: ${Object.entries(sparsity).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ')}`);
log(`${'layer'.padEnd(8)} ${'op'.padEnd(8)} ${'design'.padEnd(9)} ${'ms'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'x direct'.padStart(9)} ${'of peak'.padStart(8)}`);
for (const r of results) log(`${r.layer.padEnd(8)} ${r.op.padEnd(8)} ${r.design.padEnd(9)} ${r.ms.toFixed(2).padStart(8)} ${r.gflops.toFixed(2).padStart(8)} ${r.vsDirect.toFixed(2).padStart(9)} ${r.ofPeak.toFixed(2).padStart(8)}`);
const record = { date: new Date().toISOString(), env, peakGflops: +peak.toFixed(2), sparsity, results };
if (!quick) appendFileSync(join(root, 'bench', 'results', 'conv-kernels.jsonl'), JSON.stringify(record) + '\n');
if (json) console.log(JSON.stringify(record));
