// Scratch bench (not part of the library or tests): the first layer's kernels on real MNIST
// batches, one epoch of 60,000 shuffled images, interleaved variants, min of repeats.
// Usage: npm run build && node dev/sparse-bench.mjs [B] [OC] [variant,...]
// Both builds must have the same kernel signatures: the sparse kernels lost their unused `src`
// argument after commit 6b469b1, so compare builds from either side of it only with each other.
import { createBackend, loadMnist } from '../dist/node.js';
const B = +(process.argv[2] ?? 64), OC = +(process.argv[3] ?? 64);
const variants = (process.argv[4] ?? 'sparse_matmul_forward,sparse_matmul_backward,matmul_forward').split(',');
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
const bias = be.alloc('f32', OC);
const out = be.alloc('f32', B * OC);
const X = be.alloc('f32', B * C);
const dW = be.alloc('f32', C * OC);
const dout = be.alloc('f32', B * OC); be.write(dout, Float32Array.from({ length: B * OC }, () => Math.random() - 0.5));
const extra = {}; // per-variant setup hooks go here
const run = {
  sparse_matmul_forward: (b) => k.sparse_matmul_forward(out.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, W.byteOffset, bias.byteOffset, B, C, OC, 1 / 255),
  sparse_matmul_backward: (b) => k.sparse_matmul_backward(dW.byteOffset, bias.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255),
  sparse_csc_backward: (b) => k.sparse_csc_backward(dW.byteOffset, bias.byteOffset, dout.byteOffset, img.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255),
  matmul_forward: () => k.matmul_forward(out.byteOffset, X.byteOffset, W.byteOffset, bias.byteOffset, B, C, OC),
  matmul_backward_dw: () => k.matmul_backward(0, dW.byteOffset, bias.byteOffset, dout.byteOffset, X.byteOffset, W.byteOffset, B, C, OC),
  gather: (b) => k.gather_rows_u8(X.byteOffset, img.byteOffset, ord.byteOffset + b * 4, B, C, 1 / 255),
};
for (const v of variants) if (!run[v]) run[v] = (b) => k[v](out.byteOffset, img.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, W.byteOffset, bias.byteOffset, B, C, OC, 1 / 255);
const best = Object.fromEntries(variants.map((v) => [v, Infinity]));
for (let rep = 0; rep < 7; rep++) for (const v of variants) {
  const f = run[v];
  const t0 = performance.now();
  for (let b = 0; b + B <= N; b += B) f(b);
  best[v] = Math.min(best[v], performance.now() - t0);
}
console.log(`B=${B} OC=${OC} nnz/image=${(total / N).toFixed(1)}`);
for (const v of variants) console.log(v.padEnd(28), best[v].toFixed(1).padStart(7), 'ms/epoch');
