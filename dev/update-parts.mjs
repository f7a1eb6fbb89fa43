// Scratch bench (not part of the library or tests): where the fused first-layer update's time goes,
// on real MNIST batches, one epoch of shuffled images, interleaved variants, min of 5 repeats.
// Usage: npm run build && node dev/update-parts.mjs [B] [OC]
import { createBackend } from '../dist/node.js';
import { bestEpochs, residentMnist } from './resident-mnist.mjs';
const B = +(process.argv[2] ?? 128), OC = +(process.argv[3] ?? 800);
const be = await createBackend({ prefer: 'wasm-simd' });
const k = be.k;
const { N, C, img, start, total, idx, ord } = residentMnist(be);
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
bestEpochs(run, variants, { B, OC, N, total }, 5);
