// Scratch A/B (not part of the library or tests): whole epochs with the fused first-layer step
// (sparse_update) against the same build with it turned off, interleaved. Usage:
//   node dev/fused-ab.mjs [hidden] [act] [optimizer] [lr] [batch] [reps]
import { createBackend, fit, loadMnist, Model } from '../dist/node.js';
const [hidden = '64', act = 'sigmoid', opt = 'sgd', lr = '0.1', batch = '64', reps = '5'] = process.argv.slice(2);
const data = loadMnist();
const make = async (fused) => {
  const be = await createBackend({ prefer: 'wasm-simd' });
  const m = new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be);
  if (!fused) m.backward = (s, B) => Model.prototype.backward.call(m, s, B);
  return m;
};
const models = { fused: await make(true), unfused: await make(false) };
const times = { fused: [], unfused: [] };
for (let r = 0; r < +reps; r++) {
  for (const k of r % 2 ? ['unfused', 'fused'] : ['fused', 'unfused']) {
    const t0 = performance.now();
    await fit(models[k], data.train, { epochs: 1, batchSize: +batch, optimizer: opt, learningRate: +lr, momentum: 0.9, yieldMs: 60000 });
    times[k].push(performance.now() - t0);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const pa = models.fused.readParams(), pb = models.unfused.readParams();
const same = pa.every((x, i) => Object.is(x, pb[i]));
for (const k of ['fused', 'unfused']) console.log(k, 'epoch ms min', Math.min(...times[k]).toFixed(0), 'median', med(times[k]).toFixed(0), 'test acc', models[k].evaluate(data.test).accuracy);
console.log('ratio fused/unfused (median)', (med(times.fused) / med(times.unfused)).toFixed(3), 'weights bit-identical:', same);
