#!/usr/bin/env node
// One kernel of two sides (two wasm builds, two checkouts, or 1 and 2 threads), called through the
// Backend API in many short bursts that alternate between the sides; for each kernel and shape the
// pair ratio (median over bursts of A's time over B's) and whether both sides' outputs end with the
// same bits. The sparse first-layer kernels run on real, shuffled MNIST batches (C = 784).
// See bench/ab/README.md.
import {
  backendFor, describeRatio, fail, interleave, library, median, options, parseSide, printEnvironment, sameBits, seeded, timed,
} from './harness.mjs';

const USAGE = 'node bench/ab/kernels.mjs [--a SPEC] [--b SPEC] [--kernel NAME,...] [--shape BxCxOC,...] [--n N,...] [--pairs 30] [--warmup 1] [--in-order] [--quick]';
const o = options({ kernel: { type: 'string' }, shape: { type: 'string' }, n: { type: 'string' }, 'in-order': { type: 'boolean' } }, USAGE, { pairs: 30, warmup: 1 });
if (o.quick) o.pairs = Math.min(o.pairs, 3);
const C = 784, SCALE = 1 / 255;
// a burst: ~6,000 images for the sparse kernels (reported per epoch of 60,000), ~1e7 multiply-adds or values otherwise
const burstRows = o.quick ? 640 : 6000, burstWork = o.quick ? 1e6 : 1e7;

// kind 'sparse': fn(t, batch) on MNIST rows; 'dense': fn(t) on BxCxOC; 'elementwise': fn(t) on N values
const KERNELS = {
  'sparse-fwd': { kind: 'sparse', out: ['out'], fn: (be, t, x) => be.sparse_matmul_forward(t.out, t.start, t.idx, x, t.W, t.bias, t.B, C, t.OC, SCALE) },
  'sparse-bwd': { kind: 'sparse', out: ['dW'], fn: (be, t, x) => be.sparse_matmul_backward(t.dW, t.bias, t.dout, t.start, t.idx, x, t.B, C, t.OC, SCALE) },
  'sparse-upd': { kind: 'sparse', out: ['W', 'vel'], fn: (be, t, x) => be.sparse_update(t.W, t.vel, t.dW, t.dout, t.start, t.idx, x, t.B, C, t.OC, SCALE, 1e-9, 0.9, 0, 0) },
  'sparse-sgd': { kind: 'sparse', out: ['W'], fn: (be, t, x) => be.sparse_update(t.W, null, t.dW, t.dout, t.start, t.idx, x, t.B, C, t.OC, SCALE, 1e-9, 0, 0, 0) },
  'sparse-step': { kind: 'sparse', out: ['out', 'W', 'vel'], fn: (be, t, x) => { KERNELS['sparse-fwd'].fn(be, t, x); KERNELS['sparse-upd'].fn(be, t, x); } },
  'mm-fwd': { kind: 'dense', out: ['out'], fn: (be, t) => be.matmul_forward(t.out, t.x, t.W, t.bias, t.B, t.C, t.OC) },
  'mm-bwd': { kind: 'dense', out: ['dx', 'dW', 'db'], fn: (be, t) => be.matmul_backward(t.dx, t.dW, t.db, t.dout, t.x, t.W, t.B, t.C, t.OC) },
  sigmoid: { kind: 'elementwise', out: ['y'], fn: (be, t) => be.activation_forward(t.y, t.x, t.N, 1) },
  tanh: { kind: 'elementwise', out: ['y'], fn: (be, t) => be.activation_forward(t.y, t.x, t.N, 3) },
  relu: { kind: 'elementwise', out: ['y'], fn: (be, t) => be.activation_forward(t.y, t.x, t.N, 2) },
  'relu-bwd': { kind: 'elementwise', out: ['y'], fn: (be, t) => be.activation_backward(t.y, t.g, t.x, t.N, 2) },
  dropout: { kind: 'elementwise', out: ['y'], fn: (be, t) => be.dropout_forward(t.y, t.x, t.N, 0.3, 1, 2) },
};
const list = (s, what) => s.split(',').filter(Boolean).map((x) => { if (!x) fail(`bad ${what}`, USAGE); return x; });
const kernels = list(o.kernel ?? 'sparse-step', '--kernel');
for (const k of kernels) if (!KERNELS[k]) fail(`unknown kernel '${k}': one of ${Object.keys(KERNELS).join(', ')}`, USAGE);
const shapes = list(o.shape ?? '64x784x64,128x784x800', '--shape').map((s) => {
  const d = s.split('x').map(Number);
  if (d.length !== 3 || !d.every((v) => Number.isInteger(v) && v > 0)) fail(`--shape takes BxCxOC (e.g. 64x784x64), got ${s}`, USAGE);
  return d;
});
const sizes = list(o.n ?? '51200', '--n').map((s) => { const n = Number(s); if (!Number.isInteger(n) || n < 1) fail(`--n takes positive integers, got ${s}`, USAGE); return n; });
if (kernels.some((k) => KERNELS[k].kind === 'sparse') && !shapes.some(([, c]) => c === C)) fail(`the sparse kernels take MNIST rows: give a shape Bx${C}xOC`, USAGE);

const sides = { A: parseSide(o.a, USAGE), B: parseSide(o.b, USAGE) };
const ctx = {};
for (const [name, side] of Object.entries(sides)) {
  const lib = await library(side.root);
  const be = await backendFor(side);
  ctx[name] = { side, lib, be, backend: lib.backendLabel(be) };
}
printEnvironment(ctx);

// the training images resident in each backend, with their non-zero lists and one shuffled order (the same for both sides)
let mnistRows = null;
if (kernels.some((k) => KERNELS[k].kind === 'sparse')) {
  const d = ctx.A.lib.loadMnist().train, N = d.count;
  const order = Int32Array.from({ length: N }, (_, i) => i);
  if (!o['in-order']) {
    const r = seeded(N, 7);
    for (let i = N - 1; i > 0; i--) { const j = Math.floor((r[i] + 0.5) * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  }
  mnistRows = { N };
  for (const c of Object.values(ctx)) {
    const be = c.be;
    const img = be.alloc('u8', N * C); be.write(img, d.images.subarray(0, N * C));
    const start = be.alloc('i32', N + 1);
    const idx = be.alloc('i32', be.nz_count(start, img, N, C)); be.nz_fill(idx, start, img, N, C);
    const ord = be.alloc('i32', N); be.write(ord, order);
    c.rows = { start, idx, ord };
  }
  console.log(`# sparse kernels: MNIST training rows, ${o['in-order'] ? 'in order' : 'shuffled'}, bursts of ~${burstRows} rows, times per epoch of ${N}`);
}

/** one side's tensors for a case: the same seeded values on both sides */
function tensors(be, kind, dims) {
  const t = { ...dims };
  const f32 = (n, seed) => { const x = be.alloc('f32', n); if (seed) be.write(x, seeded(n, seed)); return x; };
  if (kind === 'elementwise') {
    Object.assign(t, { x: f32(dims.N, 1), g: f32(dims.N, 2), y: f32(dims.N) });
    be.write(t.x, seeded(dims.N, 1).map((v) => v * 16));
  } else {
    const { B, C: c, OC } = dims;
    Object.assign(t, { W: f32(c * OC, 3), bias: f32(OC, 4), out: f32(B * OC), dW: f32(c * OC), db: f32(OC), vel: f32(c * OC), x: f32(B * c, 5), dx: f32(B * c) });
    t.dout = f32(B * OC);
    be.write(t.dout, seeded(B * OC, 6).map((v) => v * 1e-3));
  }
  return t;
}

for (const k of kernels) {
  const K = KERNELS[k];
  const cases = K.kind === 'elementwise' ? sizes.map((N) => ({ N, label: `${N}` }))
    : shapes.filter(([, c]) => K.kind !== 'sparse' || c === C).map(([B, c, OC]) => ({ B, C: c, OC, label: `${B}x${c}x${OC}` }));
  if (K.kind === 'sparse' && cases.length < shapes.length) console.log(`${k}: shapes with C other than ${C} skipped (MNIST rows)`);
  for (const dims of cases) {
    const marks = {}, runners = {};
    let unit;
    for (const [name, c] of Object.entries(ctx)) {
      marks[name] = c.be.mark();
      const t = tensors(c.be, K.kind, dims);
      if (K.kind === 'sparse') {
        Object.assign(t, c.rows);
        const burst = Math.max(dims.B, burstRows - (burstRows % dims.B)), N = mnistRows.N, span = N - burst - (N - burst) % dims.B;
        const batches = [];
        for (let b = 0; b < burst; b += dims.B) batches.push(b);
        unit = 'ms an epoch';
        // pair p's burst starts at the same row on both sides (warm-up: row 0)
        runners[name] = (p) => {
          const s0 = p < 0 ? 0 : (p * burst) % span;
          return timed(() => { for (const b of batches) K.fn(c.be, t, c.be.slice(t.ord, s0 + b, dims.B)); }).then((ms) => (ms * N) / burst);
        };
      } else {
        const work = K.kind === 'dense' ? dims.B * dims.C * dims.OC : dims.N * 10;
        const reps = Math.max(10, Math.round(burstWork / work));
        unit = 'us a call';
        runners[name] = () => timed(() => { for (let i = 0; i < reps; i++) K.fn(c.be, t); }).then((ms) => (ms * 1000) / reps);
      }
      runners[name].t = t;
    }
    const res = await interleave(o.pairs, runners.A, runners.B, { warmup: o.warmup });
    const same = K.out.every((n) => sameBits(ctx.A.be.read(runners.A.t[n]), ctx.B.be.read(runners.B.t[n])));
    const digits = unit.startsWith('ms') ? 1 : 2;
    console.log(`${k} ${dims.label}: A min ${Math.min(...res.a).toFixed(digits)} median ${median(res.a).toFixed(digits)}, B min ${Math.min(...res.b).toFixed(digits)} median ${median(res.b).toFixed(digits)} ${unit}; ${describeRatio(res.a, res.b)}; outputs bit-identical: ${same}`);
    for (const [name, c] of Object.entries(ctx)) c.be.release(marks[name]);
  }
}
for (const c of Object.values(ctx)) await c.be.close?.();
