// Scratch A/B (not part of the library or tests): Model.evaluate over the 10,000 test images (W3 of
// bench:compare) with two wasm builds, interleaved pass by pass; median of the per-pair ratios.
// Usage: node dev/eval-ab.mjs OLD.wasm [hidden] [act] [batch] [pairs]
// Both builds must have the same kernel signatures: the sparse kernels lost their unused `src`
// argument after commit 6b469b1, so compare builds from either side of it only with each other.
import { createBackend, loadMnist, Model } from '../dist/node.js';
const [oldPath, hidden = '64', act = 'sigmoid', batch = '1000', pairs = '40'] = process.argv.slice(2);
const data = loadMnist();
const make = async (wasm) => {
  const be = await createBackend({ prefer: 'wasm-simd', wasm: wasm ? { simd: wasm } : undefined });
  return new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be);
};
const m = { new: await make(null), old: await make(oldPath) };
const t = { new: [], old: [] }, ratios = [];
for (const k of ['new', 'old']) m[k].evaluate(data.test, { batchSize: +batch });
for (let p = 0; p < +pairs; p++) {
  const one = {};
  for (const k of p % 2 ? ['old', 'new'] : ['new', 'old']) {
    const t0 = performance.now();
    m[k].evaluate(data.test, { batchSize: +batch });
    t[k].push((one[k] = performance.now() - t0));
  }
  ratios.push(one.new / one.old);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of ['new', 'old']) console.log(k, 'pass ms min', Math.min(...t[k]).toFixed(1), 'median', med(t[k]).toFixed(1));
console.log('median pair ratio new/old', med(ratios).toFixed(3));
