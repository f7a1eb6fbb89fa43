// Scratch timing (not part of the library or tests): Model.predict / predictClasses on the 10,000
// test images as raw u8 rows against Model.evaluate over the same images (batch 1000), for the
// W1 (784-64-10 sigmoid) and W2 (784-800-10 ReLU) shapes, untrained weights. Usage:
//   npm run build && node dev/predict-vs-evaluate.mjs [reps]
import { createBackend, loadMnist, Model } from '../dist/node.js';
const reps = +(process.argv[2] ?? 5);
const data = loadMnist();
const be = await createBackend({ prefer: process.env.SIMDNET_BACKEND ?? 'wasm-simd' });
const imgs = data.test.images.subarray(0, data.test.count * 784);
for (const hidden of [64, 800]) {
  const m = new Model({ layers: [784, hidden, 10], activation: hidden === 64 ? 'sigmoid' : 'relu', seed: 1 }, be);
  m.evaluate(data.test, { batchSize: 1000 });
  m.predictClasses(imgs);
  const t = { evaluate: [], predict: [], predictClasses: [] };
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now(); m.evaluate(data.test, { batchSize: 1000 }); t.evaluate.push(performance.now() - t0);
    t0 = performance.now(); m.predict(imgs); t.predict.push(performance.now() - t0);
    t0 = performance.now(); m.predictClasses(imgs); t.predictClasses.push(performance.now() - t0);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`784-${hidden}-10 ms (median of ${reps}): ` + Object.entries(t).map(([k, v]) => `${k} ${med(v).toFixed(1)}`).join(', '));
}
