// Scratch probe (not part of the library or tests): the cost of one post + join between this thread
// and a worker spinning on a shared control word, the handshake src/backends/wasm/threads.ts uses.
// Usage: node dev/threads-roundtrip.mjs
import { Worker } from 'node:worker_threads';
const sab = new SharedArrayBuffer(64);
const ctl = new Int32Array(sab);
const w = new Worker(`
const { workerData, parentPort } = require('node:worker_threads');
const ctl = new Int32Array(workerData);
parentPort.postMessage(1);
let seen = 0;
for (;;) { let s; while ((s = Atomics.load(ctl, 0)) === seen); if (s < 0) break; seen = s; Atomics.store(ctl, 1, s); }
`, { eval: true, workerData: sab });
await new Promise((r) => w.once('message', r));
let seq = 0;
for (let rep = 0; rep < 5; rep++) {
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) {
    Atomics.store(ctl, 0, ++seq);
    Atomics.notify(ctl, 0);
    while (Atomics.load(ctl, 1) !== seq);
  }
  console.log(((performance.now() - t0) / 2000 * 1000).toFixed(2), 'us per round trip');
}
Atomics.store(ctl, 0, -1);
await w.terminate();
