// Scratch A/B (not part of the library or tests): whole training epochs of two builds, each run in
// its own fresh process, the processes alternating (A B, B A, ...), so neither build is always the
// first instance of a process: within one process the first-made model measured ~4% slower than
// the second whatever its build, a bias dev/epoch-ab.mjs pays. Each process trains one warm-up
// epoch, then times `epochs` more; the ratio is the median over pairs of the pairs' median epochs.
// Usage: node dev/proc-ab.mjs A B [hidden] [act] [optimizer] [lr] [batch] [pairs] [epochs]
// A and B are specs, comma-separated key=value: wasm=PATH (a SIMD build; default the package's
// own), root=DIR (a package copy with dist/ and build/; default this checkout), threads=N.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
const me = fileURLToPath(import.meta.url);
if (process.argv[2] === '--child') {
  const [, spec, h, ac, op, l, bs, ep] = process.argv.slice(2);
  const s = Object.fromEntries(spec.split(',').filter(Boolean).map((kv) => kv.split('=')));
  const root = resolve(s.root ?? resolve(me, '../..'));
  const { createBackend, fit, loadMnist, Model } = await import(pathToFileURL(resolve(root, 'dist/node.js')).href);
  const data = loadMnist();
  const be = await createBackend({ prefer: 'wasm-simd', threads: +(s.threads ?? 1), wasm: s.wasm ? { simd: s.wasm } : undefined });
  const m = new Model({ layers: [784, ...h.split(',').map(Number), 10], activation: ac, seed: 1 }, be);
  const o = { epochs: 1, batchSize: +bs, optimizer: op, learningRate: +l, momentum: 0.9, yieldMs: 60000 };
  await fit(m, data.train, o);
  const t = [];
  for (let e = 0; e < +ep; e++) { const t0 = performance.now(); await fit(m, data.train, o); t.push(performance.now() - t0); }
  console.log(JSON.stringify({ t, acc: m.evaluate(data.test).accuracy }));
  await be.close?.();
  process.exit(0);
}
const [a, b, hidden = '64', act = 'sigmoid', opt = 'sgd', lr = '0.1', batch = '64', pairsS = '4', epochs = '2'] = process.argv.slice(2);
const run = (spec) => {
  const r = spawnSync(process.execPath, [me, '--child', spec, hidden, act, opt, lr, batch, epochs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
};
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const ta = [], tb = [], ratios = [];
let accA, accB;
for (let p = 0; p < +pairsS; p++) {
  let A, B;
  if (p % 2) { B = run(b); A = run(a); } else { A = run(a); B = run(b); }
  ta.push(...A.t); tb.push(...B.t); accA = A.acc; accB = B.acc;
  ratios.push(med(A.t) / med(B.t));
  console.log(`pair ${p}: A ${A.t.map((x) => x.toFixed(0)).join(' ')}  B ${B.t.map((x) => x.toFixed(0)).join(' ')}  A/B ${ratios.at(-1).toFixed(3)}`);
}
console.log(`A ${a}: epoch ms min ${Math.min(...ta).toFixed(0)} median ${med(ta).toFixed(0)} test acc ${accA}`);
console.log(`B ${b}: epoch ms min ${Math.min(...tb).toFixed(0)} median ${med(tb).toFixed(0)} test acc ${accB}`);
console.log(`A/B: median of pair ratios ${med(ratios).toFixed(3)}, ratio of medians ${(med(ta) / med(tb)).toFixed(3)}`);
