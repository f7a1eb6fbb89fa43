// Scratch profiler (not part of the library or tests): time per backend method in Model.evaluate
// over the 10,000 test images. Usage: node dev/profile-eval.mjs [hidden] [act] [batch]
import { createBackend, Model, loadMnist } from '../dist/node.js';
const [hidden = '64', act = 'sigmoid', batch = '1000'] = process.argv.slice(2);
const data = loadMnist();
const be = await createBackend({ prefer: process.env.SIMDNET_BACKEND ?? 'wasm-simd' });
const model = new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be);
model.evaluate(data.test, { batchSize: +batch });
const times = new Map();
for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(be))) {
  const f = be[name];
  if (typeof f !== 'function' || name === 'constructor') continue;
  be[name] = (...a) => { const t0 = performance.now(); const r = f.apply(be, a); const e = times.get(name) ?? [0, 0]; e[0] += performance.now() - t0; e[1]++; times.set(name, e); return r; };
}
const R = 10;
let best = Infinity;
for (let i = 0; i < R; i++) { const t0 = performance.now(); model.evaluate(data.test, { batchSize: +batch }); best = Math.min(best, performance.now() - t0); }
console.log('evaluate best', best.toFixed(1), 'ms');
for (const [k, [t, n]] of [...times].sort((a, b) => b[1][0] - a[1][0])) console.log(k.padEnd(26), (t / R).toFixed(2).padStart(8), 'ms/pass', String(n / R).padStart(6), 'calls');
