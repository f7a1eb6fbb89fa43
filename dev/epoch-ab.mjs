// Scratch A/B (not part of the library or tests): whole training epochs of two wasm builds through
// fit(), interleaved, so machine noise falls on both. Usage:
//   [EVICT=1] node dev/epoch-ab.mjs OLD.wasm [hidden] [act] [optimizer] [lr] [batch] [reps]
// EVICT=1 writes 512 MB between epochs, so each starts with cold caches as in bench:compare.
// KERNELS=a,b (backend method names, e.g. sparse_update,sparse_matmul_forward) also times those calls
// inside the epochs: a kernel that is faster alone can be no faster, or slow the others, in training.
// Both builds must have the same kernel signatures: the sparse kernels lost their unused `src`
// argument after commit 6b469b1, so compare builds from either side of it only with each other.
import { createBackend, fit, loadMnist, Model } from '../dist/node.js';
const [oldPath, hidden = '64', act = 'sigmoid', opt = 'sgd', lr = '0.1', batch = '64', reps = '5'] = process.argv.slice(2);
const data = loadMnist();
const make = async (wasm) => {
  const be = await createBackend({ prefer: 'wasm-simd', wasm: wasm ? { simd: wasm } : undefined });
  be.spent = {};
  for (const name of (process.env.KERNELS ?? '').split(',').filter(Boolean)) {
    const f = be[name].bind(be);
    be[name] = (...a) => { const t0 = performance.now(); const r = f(...a); be.spent[name] = (be.spent[name] ?? 0) + performance.now() - t0; return r; };
  }
  return new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be);
};
const models = { new: await make(process.env.NEW || null), old: await make(oldPath) };
const times = { new: [], old: [] }, kernelTimes = { new: {}, old: {} };
const evict = process.env.EVICT ? new Uint8Array(512 << 20) : null;
for (let r = 0; r < +reps; r++) {
  for (const k of r % 2 ? ['old', 'new'] : ['new', 'old']) {
    if (evict) evict.fill(r + 1); // as in bench:compare, where the other peers' data pass through L3 between epochs
    const be = models[k].backend;
    be.spent = {};
    const t0 = performance.now();
    await fit(models[k], data.train, { epochs: 1, batchSize: +batch, optimizer: opt, learningRate: +lr, momentum: 0.9, yieldMs: 60000 });
    times[k].push(performance.now() - t0);
    for (const [name, ms] of Object.entries(be.spent)) (kernelTimes[k][name] ??= []).push(ms);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of ['new', 'old']) {
  console.log(k, 'epoch ms min', Math.min(...times[k]).toFixed(0), 'median', med(times[k]).toFixed(0), 'test acc', models[k].evaluate(data.test).accuracy);
  for (const [name, ts] of Object.entries(kernelTimes[k])) console.log(`  ${name}: min ${Math.min(...ts).toFixed(1)} median ${med(ts).toFixed(1)} ms an epoch`);
}
console.log('ratio new/old (median)', (med(times.new) / med(times.old)).toFixed(3), '; median of same-rep ratios', med(times.new.map((x, i) => x / times.old[i])).toFixed(3));
