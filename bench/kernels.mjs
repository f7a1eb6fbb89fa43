#!/usr/bin/env node
// Kernel benchmarks (benny): GFLOP/s per kernel, shape and backend, on the training shapes of the
// article's network (W1: 784-64-10, batch 64) and the wide one (W2: 784-800-10, batch 128).
// The sparse first-layer kernels run on real MNIST batches (their GFLOP/s is dense-equivalent).
//   npm run bench            full run (a few seconds per case)
//   npm run bench -- --quick smoke mode (what the test suite runs), --json for machine output
import b from 'benny';
import { median, pairRatio } from './stats.mjs';
import { compilePeak, PEAK_FLOPS_PER_ITER } from './peak-probe.mjs';
import { TsBackend } from '../dist/backends/ts/index.js';
import { WasmBackend } from '../dist/backends/wasm/index.js';
import { simdSupported } from '../dist/backends/wasm/loader.js';
import { loadMnist } from '../dist/io/mnist.js';
import { Rng } from '../dist/core/rng.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const caseOptions = quick ? { minTime: 0.01, maxTime: 0.05, minSamples: 2, initCount: 1 } : { minTime: 0.5, maxTime: 2, minSamples: 5 };
const log = json ? () => {} : (...a) => console.log(...a);

const SHAPES = [
  { name: 'W1 layer 1', B: 64, C: 784, OC: 64 },
  { name: 'W1 layer 2', B: 64, C: 64, OC: 10 },
  { name: 'W2 layer 1', B: 128, C: 784, OC: 800 },
  { name: 'W2 layer 2', B: 128, C: 800, OC: 10 },
];
const backends = [
  { name: 'wasm-simd', make: () => WasmBackend.create('simd') },
  { name: 'wasm-scalar', make: () => WasmBackend.create('scalar') },
  { name: 'ts', make: async () => new TsBackend() },
];

const rng = new Rng(1);
const rand = (n) => Float32Array.from({ length: n }, () => rng.float() * 2 - 1);
const mnist = loadMnist();
const results = [];

/** bench/peak.ts's instance, or null when it cannot be built */
function peakProbe() {
  try {
    return compilePeak();
  } catch (e) {
    log(`(no peak probe: ${String(e.message).split('\n')[0]})`);
    return null;
  }
}

async function suiteFor(be) {
  const t = (dtype, values) => { const x = be.alloc(dtype, values.length); be.write(x, values); return x; };
  const cases = [];
  if (be.name === 'wasm-simd' && peakExports) {
    // this machine's ceiling for those loops: f32x4 mul + add, 12 accumulators, operands in L1
    const n = quick ? 1000 : 200000;
    cases.push({ name: 'f32x4 mul+add peak (12 accumulators, L1 operands)', flops: n * PEAK_FLOPS_PER_ITER, fn: () => peakExports.peak(1024, n) });
  }
  {
    // the reference: the forward kernel on a square, cache-friendly GEMM, the best case for 128-bit
    // SIMD here; the training shapes are reported as a fraction of it (summary below)
    const n = quick ? 64 : 256;
    const inp = t('f32', rand(n * n)), w = t('f32', rand(n * n)), bias = t('f32', rand(n)), out = be.alloc('f32', n * n);
    cases.push({ name: `matmul_forward reference (${n}x${n}.${n}x${n})`, flops: 2 * n * n * n, fn: () => be.matmul_forward(out, inp, w, bias, n, n, n) });
  }
  for (const s of SHAPES) {
    if (be.name === 'ts' && s.OC >= 800 && !quick) continue; // minutes per sample in plain TS
    const inp = t('f32', rand(s.B * s.C)), w = t('f32', rand(s.C * s.OC)), bias = t('f32', rand(s.OC));
    const out = be.alloc('f32', s.B * s.OC), dout = t('f32', rand(s.B * s.OC));
    const dinp = be.alloc('f32', s.B * s.C), dw = be.alloc('f32', s.C * s.OC), db = be.alloc('f32', s.OC);
    const flops = 2 * s.B * s.C * s.OC;
    cases.push({ name: `matmul_forward ${s.name} (${s.B}x${s.C}.${s.C}x${s.OC})`, flops, fn: () => be.matmul_forward(out, inp, w, bias, s.B, s.C, s.OC) });
    const first = s.name.endsWith('layer 1'); // the first layer never needs dinp
    cases.push({ name: `matmul_backward ${s.name}${first ? ' (dW, db)' : ' (dinp, dW, db)'}`, flops: first ? flops : 2 * flops, fn: () => be.matmul_backward(first ? null : dinp, dw, db, dout, inp, w, s.B, s.C, s.OC) });
    if (first) {
      // the same product on real MNIST rows, through the non-zero lists
      const rows = 2048, C = s.C;
      const src = t('u8', mnist.train.images.subarray(0, rows * C));
      const start = be.alloc('i32', rows + 1);
      const total = be.nz_count(start, src, rows, C);
      const nz = be.alloc('i32', total);
      be.nz_fill(nz, start, src, rows, C);
      const idx = t('i32', Int32Array.from({ length: s.B }, (_, i) => (i * 31) % rows));
      cases.push({ name: `sparse_matmul_forward ${s.name} (MNIST, ${((100 * total) / (rows * C)).toFixed(0)}% non-zero)`, flops, fn: () => be.sparse_matmul_forward(out, start, nz, idx, w, bias, s.B, C, s.OC, 1 / 255) });
      cases.push({ name: `sparse_matmul_backward ${s.name} (MNIST)`, flops, fn: () => be.sparse_matmul_backward(dw, db, dout, start, nz, idx, s.B, C, s.OC, 1 / 255) });
      // what training runs for SGD and momentum: the weight gradient fused with the momentum step
      // (a learning rate of 1e-9 keeps W all but unchanged across samples); counted as the dW product
      const vel = be.alloc('f32', s.C * s.OC);
      cases.push({ name: `sparse_update ${s.name} (MNIST, dW + momentum step)`, flops, fn: () => be.sparse_update(w, vel, dw, dout, start, nz, idx, s.B, C, s.OC, 1 / 255, 1e-9, 0.9, 0, 0) });
    }
  }
  await b.suite(
    `${be.name}`,
    ...cases.map((c) => b.add(c.name, c.fn, caseOptions)),
    b.complete((summary) => {
      for (const r of summary.results) {
        const c = cases.find((x) => x.name === r.name);
        const gflops = (r.ops * c.flops) / 1e9;
        results.push({ backend: be.name, kernel: r.name, opsPerSec: r.ops, gflops, margin: r.margin });
      }
    }),
  );
  return cases;
}

/**
 * The kernel targets' ratios measured in pairs: benny runs its cases one after another, so a slow
 * spell of this shared machine can fall on one case and flip a ratio. Here every round times each
 * case for ~20 ms back to back, and a ratio is the median over the rounds of the ratio within one.
 */
const PAIRED_ROUNDS = quick ? 2 : 15;
const PAIRED = ['matmul_forward reference', 'matmul_forward W1 layer 1', 'matmul_backward W1 layer 1', 'matmul_forward W2 layer 1', 'matmul_backward W2 layer 1', 'sparse_matmul_forward W1 layer 1', 'sparse_matmul_backward W1 layer 1', 'sparse_matmul_forward W2 layer 1', 'sparse_matmul_backward W2 layer 1'];
function pairedRatios(be, cases) {
  const picked = PAIRED.map((prefix) => {
    const c = cases.find((x) => x.name.startsWith(prefix));
    const r = results.find((x) => x.backend === be.name && x.kernel === c?.name);
    return c && r ? { prefix, c, n: Math.max(1, Math.round(r.opsPerSec * (quick ? 0.002 : 0.02))) } : null;
  });
  if (picked.some((p) => !p)) return null;
  const per = picked.map(() => []);
  for (let k = 0; k < PAIRED_ROUNDS; k++) {
    picked.forEach((p, i) => {
      const t0 = performance.now();
      for (let j = 0; j < p.n; j++) p.c.fn();
      per[i].push((p.n * p.c.flops) / (performance.now() - t0)); // flop/ms
    });
  }
  const g = (prefix) => per[PAIRED.indexOf(prefix)];
  const over = (a, b) => pairRatio(g(a), g(b));
  const out = {};
  for (const w of ['W1', 'W2']) {
    out[`${w} forward / reference`] = over(`matmul_forward ${w} layer 1`, 'matmul_forward reference');
    out[`${w} dW / reference`] = over(`matmul_backward ${w} layer 1`, 'matmul_forward reference');
    const time = (prefix, k) => 1 / g(prefix)[k]; // ms per flop of the same product
    out[`${w} sparse / dense, forward + dW`] = median(g('matmul_forward reference').map((_, k) =>
      (time(`matmul_forward ${w} layer 1`, k) + time(`matmul_backward ${w} layer 1`, k)) / (time(`sparse_matmul_forward ${w} layer 1`, k) + time(`sparse_matmul_backward ${w} layer 1`, k))));
  }
  return out;
}

const environment = { node: process.version, simd: simdSupported(), platform: `${process.platform} ${process.arch}`, quick };
log(`simdnet kernel benchmarks: Node ${environment.node}, wasm SIMD detected: ${environment.simd}${quick ? ' (quick smoke mode: figures are not meaningful)' : ''}`);
const peakExports = environment.simd ? peakProbe() : null;
const paired = {};
for (const spec of backends) {
  const be = await spec.make();
  log(`\n${be.name}${be.name.startsWith('wasm') ? ` (build/simdnet-${be.name.slice(5)}.wasm)` : ''}`);
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true; // benny's own progress lines; our table is printed above
  try {
    const cases = await suiteFor(be);
    if (be.name.startsWith('wasm')) paired[be.name] = pairedRatios(be, cases);
  } finally {
    process.stdout.write = stdout;
  }
  for (const r of results.filter((x) => x.backend === be.name)) log(`  ${r.kernel.padEnd(62)} ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  (±${r.margin}%)`);
}
// the kernel targets: dense training shapes against the reference GEMM, sparse against dense
const summary = {};
for (const be of ['wasm-simd', 'wasm-scalar']) {
  const g = (prefix) => results.find((r) => r.backend === be && r.kernel.startsWith(prefix))?.gflops;
  const ref = g('matmul_forward reference');
  const rows = {};
  for (const w of ['W1', 'W2']) {
    rows[`${w} forward / reference`] = g(`matmul_forward ${w} layer 1`) / ref;
    rows[`${w} dW / reference`] = g(`matmul_backward ${w} layer 1`) / ref;
    rows[`${w} sparse / dense, forward + dW`] = (1 / g(`matmul_forward ${w} layer 1`) + 1 / g(`matmul_backward ${w} layer 1`)) / (1 / g(`sparse_matmul_forward ${w} layer 1`) + 1 / g(`sparse_matmul_backward ${w} layer 1`));
  }
  const peak = g('f32x4 mul+add peak');
  summary[be] = { referenceGflops: ref, ...(peak ? { peakGflops: peak, 'reference / peak': ref / peak } : {}), ...rows };
  if (paired[be]) for (const [k, v] of Object.entries(paired[be])) summary[be][`${k} (paired)`] = v;
}
log(`\nsummary (ratios of GFLOP/s; sparse / dense is the speed-up of the first layer on MNIST rows; "paired": the median over ${PAIRED_ROUNDS} rounds of the ratio within a round):`);
for (const [be, rows] of Object.entries(summary)) for (const [k, v] of Object.entries(rows)) log(`  ${be.padEnd(12)} ${k.padEnd(43)} ${v.toFixed(2)}`);
if (json) console.log(JSON.stringify({ environment, results, summary }));
