// Scratch bench (not part of the library or tests): the first layer's kernels on real MNIST
// batches, one epoch of 60,000 shuffled images, interleaved variants, min of repeats.
// Usage: npm run build && node dev/sparse-bench.mjs [B] [OC] [variant,...]
// Both builds must have the same kernel signatures: the sparse kernels lost their unused `src`
// argument after commit 6b469b1, so compare builds from either side of it only with each other.
import { createBackend } from '../dist/node.js';
import { bestEpochs, residentMnist } from './resident-mnist.mjs';
const B = +(process.argv[2] ?? 64), OC = +(process.argv[3] ?? 64);
const variants = (process.argv[4] ?? 'sparse_matmul_forward,sparse_matmul_backward,matmul_forward').split(',');
const be = await createBackend({ prefer: 'wasm-simd' });
const k = be.k;
const { N, C, img, start, total, idx, ord } = residentMnist(be);
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
bestEpochs(run, variants, { B, OC, N, total }, 7);
