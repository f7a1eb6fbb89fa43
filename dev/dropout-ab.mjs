// Scratch A/B (not part of the library or tests): dropout_forward of the current SIMD build against
// another build's, on N values, in alternating bursts; median of the per-burst ratios.
// Usage: npm run build && node dev/dropout-ab.mjs OLD.wasm [N]
// (builds before the i0 argument ignore it, so they compare as they are)
import { createBackend } from '../dist/node.js';
const [oldPath, Ns = '51200'] = process.argv.slice(2);
const N = +Ns;
const a = await createBackend({ prefer: 'wasm-simd' }), b = await createBackend({ prefer: 'wasm-simd', wasm: { simd: oldPath } });
const mk = (be) => { const x = be.alloc('f32', N), y = be.alloc('f32', N); be.write(x, Float32Array.from({ length: N }, Math.random)); return () => be.dropout_forward(y, x, N, 0.3, 1, 2); };
const fa = mk(a), fb = mk(b);
const reps = Math.max(10, Math.round(1e7 / N));
const t = (f) => { const t0 = performance.now(); for (let i = 0; i < reps; i++) f(); return ((performance.now() - t0) / reps) * 1000; };
t(fa); t(fb);
const r = [], ta = [], tb = [];
for (let p = 0; p < 21; p++) { const x = t(fa), y = t(fb); ta.push(x); tb.push(y); r.push(x / y); }
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
console.log(`dropout_forward ${N}: new ${med(ta).toFixed(1)} us, old ${med(tb).toFixed(1)} us, new/old ${med(r).toFixed(3)}`);
