// Scratch probe (not part of the library or tests): two models on one backend, each evaluating a
// new 1,000-image DataSet object per round, in turn; prints the backend's top of memory and the
// wasm memory size every 50 rounds. Usage: npm run build && node dev/shared-backend-memory.mjs [rounds]
import { createBackend, Model, loadMnist } from '../dist/node.js';
const rounds = +(process.argv[2] ?? 400);
const d = loadMnist();
const be = await createBackend({ prefer: 'wasm-simd' });
const a = new Model({ layers: [784, 64, 10], seed: 1 }, be);
const b = new Model({ layers: [784, 800, 10], seed: 2 }, be);
const slice = (n) => ({ ...d.test, count: n, images: d.test.images.subarray(0, n * 784), labels: d.test.labels.subarray(0, n) });
for (let i = 0; i < rounds; i++) {
  try {
    a.evaluate(slice(1000));
    b.evaluate(slice(1000));
  } catch (e) {
    console.log('round', i, 'error:', e.message);
    break;
  }
  if (i % 50 === 0 || i === rounds - 1) console.log('round', i, 'top', be.mark(), 'wasm memory MB', (be.memoryBytes() / 2 ** 20).toFixed(1));
}
