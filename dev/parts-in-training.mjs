// Scratch probe (not part of the library or tests): inside real training epochs with a threaded
// backend, for each kernel split between threads, how long this thread ran its own part and how
// long it then waited for the workers' parts (percentiles over every call of one epoch, after a
// warm-up epoch). Usage: npm run build && node dev/parts-in-training.mjs [threads] [hidden] [act] [optimizer] [lr] [batch]
import { createBackend, fit, loadMnist, Model } from '../dist/node.js';
const [threads = '2', hidden = '64', act = 'sigmoid', opt = 'sgd', lr = '0.1', batch = '64'] = process.argv.slice(2);
const data = loadMnist();
const be = await createBackend({ prefer: 'wasm-simd', threads: +threads });
const model = new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be);
const o = { epochs: 1, batchSize: +batch, optimizer: opt, learningRate: +lr, momentum: 0.9, yieldMs: 60000 };
await fit(model, data.train, o);
// this thread's part is a direct call of the kernel (be.k[op]) inside inParts
const stats = new Map();
let own = 0;
const timed = {};
for (const [name, f] of Object.entries(be.k)) {
  timed[name] = typeof f !== 'function' ? f : (...a) => { const t0 = performance.now(); try { return f(...a); } finally { own += performance.now() - t0; } };
}
be.k = timed; // the exports object itself is frozen
const inParts = be.inParts.bind(be);
be.inParts = (op, ...rest) => {
  own = 0;
  const t0 = performance.now();
  const r = inParts(op, ...rest);
  const total = performance.now() - t0;
  const s = stats.get(op) ?? { own: [], wait: [] };
  s.own.push(own * 1000); s.wait.push((total - own) * 1000);
  stats.set(op, s);
  return r;
};
const t0 = performance.now();
await fit(model, data.train, o);
console.log(`${threads} threads, 784-${hidden}-10 ${act} ${opt} batch ${batch}: epoch ${(performance.now() - t0).toFixed(0)} ms`);
const q = (a, f) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(f * a.length))].toFixed(1);
console.log('op'.padEnd(28), 'calls', '  own us p10/p50/p90/p99', '   then waited us p10/p50/p90/p99');
for (const [op, s] of stats) console.log(op.padEnd(28), String(s.own.length).padStart(5), ' ', [0.1, 0.5, 0.9, 0.99].map((f) => q(s.own, f)).join(' ').padEnd(24), ' ', [0.1, 0.5, 0.9, 0.99].map((f) => q(s.wait, f)).join(' '));
await be.close();
