// Scratch probe (not part of the library or tests): the first layer's sparse kernels (forward
// product, fused SGD update, both in turn as a step; and sigmoid over the batch) through the Backend API on 1 and 2 threads, over epochs of shuffled
// real MNIST batches, interleaved; for each, this thread's time in the call, best of `reps`.
// Usage: npm run build && node dev/sparse-split.mjs [B] [OC] [reps]
import { createBackend } from '../dist/node.js';
import { residentMnist } from './resident-mnist.mjs';
const B = +(process.argv[2] ?? 64), OC = +(process.argv[3] ?? 64), reps = +(process.argv[4] ?? 5);
const mk = async (threads) => {
  const be = await createBackend({ prefer: 'wasm-simd', threads });
  const { N, C, start, idx, ord } = residentMnist(be);
  const W = be.alloc('f32', C * OC); be.write(W, Float32Array.from({ length: C * OC }, () => Math.random() - 0.5));
  const bias = be.alloc('f32', OC), out = be.alloc('f32', B * OC), dW = be.alloc('f32', C * OC);
  const dout = be.alloc('f32', B * OC); be.write(dout, Float32Array.from({ length: B * OC }, () => (Math.random() - 0.5) * 1e-6));
  const batch = (b) => be.view(ord, b, B);
  return {
    be, N,
    fwd: (b) => be.sparse_matmul_forward(out, start, idx, batch(b), W, bias, B, C, OC, 1 / 255),
    sig: () => be.activation_forward(out, out, B * OC, 1),
    upd: (b) => be.sparse_update(W, null, dW, dout, start, idx, batch(b), B, C, OC, 1 / 255, 1e-9, 0, 0, 0),
  };
};
const t1 = await mk(1), t2 = await mk(2);
const best = {};
for (let r = 0; r < reps; r++) for (const [name, t] of [['1t', t1], ['2t', t2]]) for (const k of ['fwd', 'upd', 'step', 'sig']) {
  const f = k === 'step' ? (b) => { t.fwd(b); t.upd(b); } : t[k];
  const t0 = performance.now();
  for (let b = 0; b + B <= t.N; b += B) f(b);
  const ms = performance.now() - t0;
  best[`${k} ${name}`] = Math.min(best[`${k} ${name}`] ?? Infinity, ms);
}
for (const k of ['fwd', 'upd', 'step', 'sig']) console.log(k.padEnd(5), '1 thread', best[`${k} 1t`].toFixed(1), 'ms/epoch, 2 threads', best[`${k} 2t`].toFixed(1), `(${(best[`${k} 2t`] / best[`${k} 1t`]).toFixed(2)}x)`);
await t2.be.close?.();
process.exit(0);
