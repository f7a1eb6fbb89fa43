// Scratch bench (not part of the library or tests): one dense op on 1 thread and on 2 threads
// (createBackend({ threads: 2 })), back to back in short bursts, median of the per-burst ratios;
// where the split between threads starts to pay (SPLIT_MIN_PRODUCTS, SPLIT_MIN_EXPS and
// SPLIT_MIN_ELEMENTS in src/backends/wasm/index.ts).
// Usage: npm run build && node dev/split-micro.mjs [BxCxOC,...] [N,...]
import { createBackend } from '../dist/node.js';
const one = await createBackend({ prefer: 'wasm-simd' }), two = await createBackend({ prefer: 'wasm-simd', threads: 2 });
const shapes = (process.argv[2] ?? '64x64x10,128x64x10,256x64x10,64x100x10,32x300x10,64x800x10,128x800x10,64x800x800').split(',').map((s) => s.split('x').map(Number));
const sizes = (process.argv[3] ?? '2048,4096,8192,16384,102400').split(',').map(Number);
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
function compare(label, mk, work) {
  const f1 = mk(one), f2 = mk(two);
  const reps = Math.max(10, Math.round(1e7 / work));
  const t = (f) => { const t0 = performance.now(); for (let i = 0; i < reps; i++) f(); return ((performance.now() - t0) / reps) * 1000; };
  t(f1); t(f2);
  const r = [], a = [], b = [];
  for (let p = 0; p < 31; p++) { const x = t(f1), y = t(f2); a.push(x); b.push(y); r.push(y / x); }
  console.log(label.padEnd(28), `1 thread ${med(a).toFixed(2)} us, 2 threads ${med(b).toFixed(2)} us, ratio ${med(r).toFixed(3)}`);
}
for (const kind of ['matmul_forward', 'matmul_backward']) for (const [B, C, OC] of shapes) {
  compare(`${kind} ${B}x${C}x${OC}`, (be) => {
    const x = be.alloc('f32', B * C), w = be.alloc('f32', C * OC), b = be.alloc('f32', OC), o = be.alloc('f32', B * OC), dx = be.alloc('f32', B * C), dw = be.alloc('f32', C * OC);
    be.write(x, Float32Array.from({ length: B * C }, Math.random)); be.write(o, Float32Array.from({ length: B * OC }, Math.random));
    return kind === 'matmul_forward' ? () => be.matmul_forward(o, x, w, b, B, C, OC) : () => be.matmul_backward(dx, dw, b, o, x, w, B, C, OC);
  }, B * C * OC);
}
for (const [name, act, back] of [['sigmoid', 1, false], ['relu', 2, false], ['relu backward', 2, true]]) for (const N of sizes) {
  compare(`${name} ${N}`, (be) => {
    const x = be.alloc('f32', N), y = be.alloc('f32', N), g = be.alloc('f32', N);
    be.write(x, Float32Array.from({ length: N }, () => Math.random() * 8 - 4));
    return back ? () => be.activation_backward(g, x, y, N, act) : () => be.activation_forward(y, x, N, act);
  }, N * 10);
}
for (const N of sizes) {
  compare(`dropout ${N}`, (be) => {
    const x = be.alloc('f32', N), y = be.alloc('f32', N);
    be.write(x, Float32Array.from({ length: N }, () => Math.random() * 8 - 4));
    return () => be.dropout_forward(y, x, N, 0.3, 1, 2);
  }, N * 10);
}
await two.close();
