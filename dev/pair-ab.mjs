// Scratch A/B (not part of the library or tests) for a noisy machine: one sparse kernel of two wasm
// builds on real MNIST batches, in many short alternating bursts; reports the median of the
// per-pair time ratios (robust to the machine's slow swings) and the min of each.
// Usage: node dev/pair-ab.mjs OLD.wasm [B] [OC] [fwd|bwd|upd|sgd|step] [pairs]
// Both builds must have the same kernel signatures: the sparse kernels lost their unused `src`
// argument after commit 6b469b1, so compare builds from either side of it only with each other.
import { createBackend, loadMnist } from '../dist/node.js';
const [oldPath, Bs = '64', OCs = '64', which = 'fwd', pairsS = '40'] = process.argv.slice(2);
const B = +Bs, OC = +OCs, C = 784, pairs = +pairsS, burst = Math.max(B, 6000 - (6000 % B));
const d = loadMnist().train, N = d.count;
const order = new Int32Array(N).map((_, i) => i);
if (!process.env.SEQ) for (let i = N - 1; i > 0; i--) { const j = (Math.random() * (i + 1)) | 0; [order[i], order[j]] = [order[j], order[i]]; }
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
  const bias = be.alloc('f32', OC), out = be.alloc('f32', B * OC), dW = be.alloc('f32', C * OC), vel = be.alloc('f32', C * OC);
  const dout = be.alloc('f32', B * OC); be.write(dout, Dv);
  const f = {
    fwd: (b) => k.sparse_matmul_forward(out.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, W.byteOffset, bias.byteOffset, B, C, OC, 1 / 255),
    bwd: (b) => k.sparse_matmul_backward(dW.byteOffset, bias.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255),
    upd: (b) => k.sparse_update(W.byteOffset, vel.byteOffset, dW.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255, 1e-9, 0.9, 0, 0),
    sgd: (b) => k.sparse_update(W.byteOffset, 0, dW.byteOffset, dout.byteOffset, start.byteOffset, idx.byteOffset, ord.byteOffset + b * 4, B, C, OC, 1 / 255, 1e-9, 0, 0, 0),
    step: (b) => { f.fwd(b); f.upd(b); }, // a training step's first layer: forward, then the fused momentum update
  };
  const fn = f[which];
  if (!fn) throw new Error(`unknown kernel ${which}: fwd, bwd, upd (momentum), sgd or step (fwd + upd)`);
  return (s0) => { const t0 = performance.now(); for (let b = s0; b < s0 + burst; b += B) fn(b); return performance.now() - t0; };
}
const A = await setup(process.env.NEW || null), O = await setup(oldPath);
A(0); O(0);
const ratios = [], ta = [], to = [];
for (let p = 0; p < pairs; p++) {
  const s0 = ((p * burst) % (N - burst)) - (((p * burst) % (N - burst)) % B);
  let a, o;
  if (p % 2) { o = O(s0); a = A(s0); } else { a = A(s0); o = O(s0); }
  ratios.push(a / o); ta.push(a); to.push(o);
}
const med = (x) => [...x].sort((u, v) => u - v)[x.length >> 1];
const scale = N / burst;
console.log(`${which} B=${B} OC=${OC}: median new/old ${med(ratios).toFixed(3)} (pairs ${pairs}); min new ${(Math.min(...ta) * scale).toFixed(0)} old ${(Math.min(...to) * scale).toFixed(0)} ms/epoch`);
