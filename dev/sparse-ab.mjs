// Scratch A/B (not part of the library or tests): the first layer's sparse kernels of two wasm
// builds on real MNIST batches (one epoch of 60,000 shuffled images), interleaved, min of 7.
// Usage: node dev/sparse-ab.mjs OLD.wasm [B] [OC]
import { createBackend, loadMnist } from '../dist/node.js';
const [oldPath, Bs = '64', OCs = '64'] = process.argv.slice(2);
const B = +Bs, OC = +OCs, C = 784;
const d = loadMnist().train, N = d.count;
const order = new Int32Array(N).map((_, i) => i);
for (let i = N - 1; i > 0; i--) { const j = (Math.random() * (i + 1)) | 0; [order[i], order[j]] = [order[j], order[i]]; }
const Wv = Float32Array.from({ length: C * OC }, () => Math.random() - 0.5);
const Dv = Float32Array.from({ length: B * OC }, () => Math.random() - 0.5);
async function setup(wasm) {
  const be = await createBackend({ prefer: 'wasm-simd', wasm: wasm ? { simd: wasm } : undefined });
  const k = be.k;
  const img = be.alloc('u8', N * C); be.write(img, d.images);
  const start = be.alloc('i32', N + 1);
  const total = be.nz_count(start, img, N, C);
  const idx = be.alloc('i32', total); be.nz_fill(idx, start, img, N, C);
  const ord = be.alloc('i32', N); be.write(ord, order);
  const W = be.alloc('f32', C * OC); be.write(W, Wv);
  const bias = be.alloc('f32', OC);
  const out = be.alloc('f32', B * OC);
  const dW = be.alloc('f32', C * OC);
  const dout = be.alloc('f32', B * OC); be.write(dout, Dv);
  const vel = be.alloc('f32', C * OC);
  return {
    be, out, dW, W,
    upd: (b) => k.sparse_update(W.byteOffset, vel.byteOffset, dW.byteOffset, dout.byteOffset, img.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255, 1e-9, 0.9, 0, 0),
    fwd: (b) => k.sparse_matmul_forward(out.byteOffset, img.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, W.byteOffset, bias.byteOffset, B, C, OC, 1 / 255),
    bwd: (b) => k.sparse_matmul_backward(dW.byteOffset, bias.byteOffset, dout.byteOffset, img.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255),
  };
}
const A = await setup(null), O = await setup(oldPath);
// same answers?
A.fwd(0); O.fwd(0);
const same = A.be.read(A.out).every((x, i) => Object.is(x, O.be.read(O.out)[i]));
const best = { newF: Infinity, oldF: Infinity, newB: Infinity, oldB: Infinity, newU: Infinity, oldU: Infinity };
const time = (f) => { const t0 = performance.now(); for (let b = 0; b + B <= N; b += B) f(b); return performance.now() - t0; };
for (let rep = 0; rep < 7; rep++) {
  best.newF = Math.min(best.newF, time(A.fwd)); best.oldF = Math.min(best.oldF, time(O.fwd));
  if (process.env.FWD_ONLY) continue;
  best.newB = Math.min(best.newB, time(A.bwd)); best.oldB = Math.min(best.oldB, time(O.bwd));
  if (A.be.k.sparse_update && O.be.k.sparse_update) { best.newU = Math.min(best.newU, time(A.upd)); best.oldU = Math.min(best.oldU, time(O.upd)); }
}
console.log(`B=${B} OC=${OC} forward bit-identical: ${same}`);
console.log(`forward  new ${best.newF.toFixed(1)} ms/epoch  old ${best.oldF.toFixed(1)}  ratio ${(best.newF / best.oldF).toFixed(2)}`);
console.log(`backward new ${best.newB.toFixed(1)} ms/epoch  old ${best.oldB.toFixed(1)}  ratio ${(best.newB / best.oldB).toFixed(2)}`);
if (best.newU < Infinity) console.log(`update   new ${best.newU.toFixed(1)} ms/epoch  old ${best.oldU.toFixed(1)}  ratio ${(best.newU / best.oldU).toFixed(2)} (sparse_update, momentum)`);
