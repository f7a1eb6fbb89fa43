// Scratch profiler (not part of the library or tests): time spent per backend method during real
// training epochs. Usage: npm run build && [NOTEST=1] node dev/profile-step.mjs [hidden] [batch] [act] [opt] [epochs]
// (NOTEST=1: no test-set evaluation between epochs, so the figures are the training step's alone;
// DROPOUT=p: dropout p on the hidden layers; THREADS=n: a backend with n threads)
import { createBackend, Model, fit, loadMnist } from '../dist/node.js';
const [hidden = '64', batch = '64', act = 'sigmoid', opt = 'sgd', epochs = '3'] = process.argv.slice(2);
const data = loadMnist();
const be = await createBackend({ prefer: process.env.SIMDNET_BACKEND ?? 'wasm-simd', threads: +(process.env.THREADS ?? 1) });
const model = new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1, ...(process.env.DROPOUT ? { dropout: +process.env.DROPOUT } : {}) }, be);
const times = new Map();
const proto = Object.getPrototypeOf(be);
for (const name of Object.getOwnPropertyNames(proto)) {
  const f = be[name];
  if (typeof f !== 'function' || name === 'constructor') continue;
  be[name] = (...a) => { const t0 = performance.now(); const r = f.apply(be, a); const dt = performance.now() - t0; const e = times.get(name) ?? [0, 0]; e[0] += dt; e[1]++; times.set(name, e); return r; };
}
const h = await fit(model, data.train, { epochs: +epochs, batchSize: +batch, optimizer: opt, learningRate: opt === "adam" ? 0.001 : opt === "momentum" ? 0.01 : 0.1, momentum: 0.9, testData: process.env.NOTEST ? undefined : data.test });
console.log('epoch ms', h.epochs?.map?.((e) => e.epochMs.toFixed(0)).join(' ') ?? JSON.stringify(Object.keys(h)));
const total = [...times.values()].reduce((s, e) => s + e[0], 0);
for (const [k, [t, n]] of [...times].sort((a, b) => b[1][0] - a[1][0])) console.log(k.padEnd(26), (t / +epochs).toFixed(1).padStart(8), 'ms/epoch', String(n).padStart(8), 'calls');
console.log('sum of kernels', (total / +epochs).toFixed(1), 'ms/epoch (includes evaluation)');
await be.close?.();
