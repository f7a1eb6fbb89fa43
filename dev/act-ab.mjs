// Scratch A/B (not part of the library or tests): activation_forward of two wasm builds over N floats,
// interleaved; prints the median pair ratio, ns per value and whether the outputs are identical.
// Usage: node dev/act-ab.mjs OLD.wasm [N] [pairs] [act: 1 sigmoid, 3 tanh]
import { createBackend } from '../dist/node.js';
const [oldPath, Ns = '64000', pairs = '30', act = '1'] = process.argv.slice(2);
const N = +Ns;
const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * 8);
async function setup(wasm) {
  const be = await createBackend({ prefer: 'wasm-simd', wasm: wasm ? { simd: wasm } : undefined });
  const inp = be.alloc('f32', N); be.write(inp, x); const out = be.alloc('f32', N);
  return { be, run: () => { const t0 = performance.now(); for (let r = 0; r < 200; r++) be.k.activation_forward(out.byteOffset, inp.byteOffset, N, +act); return performance.now() - t0; }, out };
}
const A = await setup(null), O = await setup(oldPath);
A.run(); O.run();
const ra = [], ta = [], to = [];
for (let p = 0; p < +pairs; p++) { let a, o; if (p % 2) { o = O.run(); a = A.run(); } else { a = A.run(); o = O.run(); } ra.push(a / o); ta.push(a); to.push(o); }
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
const same = A.be.read(A.out).every((v, i) => Object.is(v, O.be.read(O.out)[i]));
console.log(`act ${act} N=${N}: median new/old ${med(ra).toFixed(3)}; min new ${(Math.min(...ta) / 200 / N * 1e6).toFixed(2)} old ${(Math.min(...to) / 200 / N * 1e6).toFixed(2)} ns/elem; outputs identical: ${same}`);
