// Scratch bench (not part of the library or tests): where the fused first-layer update's time goes,
// on real MNIST batches, one epoch of shuffled images, interleaved variants, min of 5 repeats.
// Usage: npm run build && node dev/update-parts.mjs [B] [OC]
import { createBackend, loadMnist } from '../dist/node.js';
const B = +(process.argv[2] ?? 128), OC = +(process.argv[3] ?? 800);
const d = loadMnist().train, N = d.count, C = 784;
const be = await createBackend({ prefer: 'wasm-simd' });
const k = be.k;
const img = be.alloc('u8', N * C); be.write(img, d.images);
const start = be.alloc('i32', N + 1);
const total = be.nz_count(start, img, N, C);
const idx = be.alloc('i32', total); be.nz_fill(idx, start, img, N, C);
const order = new Int32Array(N).map((_, i) => i);
for (let i = N - 1; i > 0; i--) { const j = (Math.random() * (i + 1)) | 0; [order[i], order[j]] = [order[j], order[i]]; }
const ord = be.alloc('i32', N); be.write(ord, order);
const W = be.alloc('f32', C * OC); be.write(W, Float32Array.from({ length: C * OC }, () => Math.random() - 0.5));
const V = be.alloc('f32', C * OC);
const bias = be.alloc('f32', OC);
const out = be.alloc('f32', B * OC);
const dW = be.alloc('f32', C * OC);
const dout = be.alloc('f32', B * OC); be.write(dout, Float32Array.from({ length: B * OC }, () => (Math.random() - 0.5) * 1e-6));
const run = {
  update_momentum: (b) => k.sparse_update(W.byteOffset, V.byteOffset, dW.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255, 0.01, 0.9, 0, 0),
  update_sgd: (b) => k.sparse_update(W.byteOffset, 0, dW.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255, 0.01, 0, 0, 0),
  backward_dW: (b) => k.sparse_matmul_backward(dW.byteOffset, 0, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255),
  momentum_stream: () => k.momentum_update(W.byteOffset, dW.byteOffset, V.byteOffset, C * OC, 0.01, 0.9, 0, 0),
  fill_dW: () => k.fill(dW.byteOffset, C * OC, 0),
  unfused: (b) => { run.fill_dW(); run.backward_dW(b); run.momentum_stream(); },
  fwd_sgd: (b) => { run.forward(b); run.update_sgd(b); },
  forward: (b) => k.sparse_matmul_forward(out.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, W.byteOffset, bias.byteOffset, B, C, OC, 1 / 255),
};
const variants = process.argv[4] ? process.argv[4].split(',') : Object.keys(run);
const best = Object.fromEntries(variants.map((v) => [v, Infinity]));
for (let rep = 0; rep < 5; rep++) for (const v of variants) {
  const f = run[v];
  const t0 = performance.now();
  for (let b = 0; b + B <= N; b += B) f(b);
  best[v] = Math.min(best[v], performance.now() - t0);
}
console.log(`B=${B} OC=${OC} nnz/image=${(total / N).toFixed(1)}`);
for (const v of variants) console.log(v.padEnd(28), best[v].toFixed(1).padStart(7), 'ms/epoch');
