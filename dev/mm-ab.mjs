// Scratch A/B (not part of the library or tests): matmul_forward / matmul_backward of two wasm
// builds on one shape, interleaved, min of 9. Usage: node dev/mm-ab.mjs OLD.wasm B C OC
import { createBackend } from '../dist/node.js';
const [oldPath, Bs, Cs, OCs] = process.argv.slice(2);
const B = +Bs, C = +Cs, OC = +OCs;
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const X = rnd(B * C), W = rnd(C * OC), D = rnd(B * OC), bias = rnd(OC);
async function setup(wasm) {
  const be = await createBackend({ prefer: 'wasm-simd', wasm: wasm ? { simd: wasm } : undefined });
  const t = (n, v) => { const x = be.alloc('f32', n); if (v) be.write(x, v); return x; };
  const x = t(B * C, X), w = t(C * OC, W), d = t(B * OC, D), b = t(OC, bias), o = t(B * OC), dx = t(B * C), dw = t(C * OC), db = t(OC);
  return {
    be, o, dx, dw,
    fwd: () => be.matmul_forward(o, x, w, b, B, C, OC),
    bwd: () => be.matmul_backward(dx, dw, db, d, x, w, B, C, OC),
  };
}
const A = await setup(null), O = await setup(oldPath);
const iters = Math.max(1, Math.round(3e8 / (2 * B * C * OC)));
const time = (f) => { const t0 = performance.now(); for (let i = 0; i < iters; i++) f(); return (performance.now() - t0) / iters; };
const best = { nf: Infinity, of: Infinity, nb: Infinity, ob: Infinity };
for (let rep = 0; rep < 9; rep++) {
  best.nf = Math.min(best.nf, time(A.fwd)); best.of = Math.min(best.of, time(O.fwd));
  best.nb = Math.min(best.nb, time(A.bwd)); best.ob = Math.min(best.ob, time(O.bwd));
}
A.fwd(); O.fwd();
const same = A.be.read(A.o).every((v, i) => Object.is(v, O.be.read(O.o)[i]));
const us = (x) => (x * 1000).toFixed(1) + ' us';
console.log(`${B}x${C}x${OC} forward bit-identical to old: ${same}`);
console.log(`forward  new ${us(best.nf)} old ${us(best.of)} ratio ${(best.nf / best.of).toFixed(2)}`);
console.log(`backward new ${us(best.nb)} old ${us(best.ob)} ratio ${(best.nb / best.ob).toFixed(2)}`);
