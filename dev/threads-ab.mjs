// Scratch A/B (not part of the library or tests): whole training epochs with 1 and N threads,
// interleaved, then a check that both models hold bit-identical weights. Usage:
//   npm run build && node dev/threads-ab.mjs [threads] [hidden] [act] [optimizer] [lr] [batch] [epochs]
// Both backends live in one process: for timing, prefer dev/proc-ab.mjs threads=N threads=1 ...
// (fresh processes alternating), where W1 with 2 threads measured 0.86x while this script gave 1.19x.
import { createBackend, fit, loadMnist, Model } from '../dist/node.js';
const [threads = '2', hidden = '64', act = 'sigmoid', opt = 'sgd', lr = '0.1', batch = '64', epochs = '5'] = process.argv.slice(2);
const data = loadMnist();
const make = async (t) => {
  const be = await createBackend({ prefer: 'wasm-simd', threads: t });
  return { be, model: new Model({ layers: [784, ...hidden.split(',').map(Number), 10], activation: act, seed: 1 }, be) };
};
const runs = { one: await make(1), many: await make(+threads) };
const times = { one: [], many: [] };
for (let r = 0; r < +epochs; r++) {
  for (const k of r % 2 ? ['many', 'one'] : ['one', 'many']) {
    const h = await fit(runs[k].model, data.train, { epochs: 1, batchSize: +batch, optimizer: opt, learningRate: +lr, momentum: 0.9, shuffleSeed: r });
    times[k].push(h.epochs[0].epochMs);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const w1 = runs.one.model.getWeights(), w2 = runs.many.model.getWeights();
let same = true;
for (let l = 0; l < w1.length; l++) {
  const a = new Uint32Array(w1[l].W.buffer), b = new Uint32Array(w2[l].W.buffer);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { same = false; break; }
}
console.log(`threads ${threads}, 784-${hidden}-10 ${act} ${opt} batch ${batch}: epoch ms 1 thread ${times.one.map((t) => t.toFixed(0)).join(' ')} | ${threads} threads ${times.many.map((t) => t.toFixed(0)).join(' ')}`);
console.log(`median ${med(times.one).toFixed(0)} vs ${med(times.many).toFixed(0)}: ${(med(times.many) / med(times.one)).toFixed(3)}x the time; weights bit-identical: ${same}`);
const acc = (m) => (m.evaluate(data.test).accuracy * 100).toFixed(2);
console.log(`test accuracy ${acc(runs.one.model)}% vs ${acc(runs.many.model)}%`);
await runs.many.be.close();
