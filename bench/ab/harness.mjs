/**
 * The A/B harness the scripts in bench/ab/ share: what a side is (a checkout, a wasm build, a thread
 * count), how two sides are run (alternating order, warm-up first), the statistics (bench/stats.mjs:
 * one median, one quantile, one pair ratio) and how results and the environment are printed.
 * See bench/ab/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, platform, arch } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, pairRatio, quantile, summary } from '../stats.mjs';
import { WORKLOADS } from '../workloads.mjs';

export { median, pairRatio, quantile, summary, WORKLOADS };

/** this checkout: the default side */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** prints one line saying what was wrong (and the usage), exits 2 */
export function fail(message, usage) {
  process.stderr.write(`${message}\n${usage ? `usage: ${usage}\n` : ''}`);
  process.exit(2);
}

/**
 * The command line: `spec` holds each script's own options (node:util parseArgs form); every script
 * also takes --a SPEC, --b SPEC, --pairs N, --warmup N and --quick (a small, fast run that only shows
 * the script works). Bad options are one line and exit 2.
 */
export function options(spec, usage, defaults = {}) {
  let values;
  try {
    ({ values } = parseArgs({
      options: { a: { type: 'string' }, b: { type: 'string' }, pairs: { type: 'string' }, warmup: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean' }, ...spec },
      strict: true,
    }));
  } catch (e) {
    fail(String(e.message).split('\n')[0], usage);
  }
  if (values.help) { console.log(`usage: ${usage}`); process.exit(0); }
  const count = (name, min) => {
    const v = values[name] ?? defaults[name];
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${v}`, usage);
    return n;
  };
  return { ...values, pairs: count('pairs', 1), warmup: count('warmup', 0), count };
}

/**
 * A side of an A/B: `SPEC` is a directory (a checkout or package copy with dist/ and build/, whose
 * own library is loaded), a .wasm file (a SIMD build, loaded through this checkout's library), or
 * comma-separated key=value: root=DIR, wasm=FILE, threads=N (e.g. `threads=2`, `root=../main,threads=2`).
 */
export function parseSide(spec = '.', usage) {
  const side = { spec, root: ROOT, wasm: null, threads: 1 };
  const kv = spec.includes('=') ? spec.split(',').filter(Boolean).map((s) => s.split('=')) : spec.endsWith('.wasm') ? [['wasm', spec]] : [['root', spec]];
  for (const [k, v] of kv) {
    if (k === 'root') side.root = resolve(v);
    else if (k === 'wasm') side.wasm = resolve(v);
    else if (k === 'threads') side.threads = Number(v);
    else fail(`side '${spec}': unknown key '${k}' (root=DIR, wasm=FILE.wasm, threads=N)`, usage);
  }
  if (!existsSync(resolve(side.root, 'package.json'))) fail(`side '${spec}': ${side.root} has no package.json (give a checkout with dist/ and build/ built)`, usage);
  if (side.wasm && !(existsSync(side.wasm) && statSync(side.wasm).isFile())) fail(`side '${spec}': no file ${side.wasm}`, usage);
  if (!Number.isInteger(side.threads) || side.threads < 1) fail(`side '${spec}': threads must be an integer >= 1`, usage);
  return side;
}

const libraries = new Map();
/** the library of a checkout: its package.json's Node entry, imported once per root */
export async function library(root) {
  if (!libraries.has(root)) {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    const entry = pkg.exports?.['.']?.node?.default ?? pkg.main ?? 'dist/node.js';
    const file = resolve(root, entry);
    if (!existsSync(file)) fail(`${file} is missing: run \`npm run build\` in ${root}`);
    libraries.set(root, await import(pathToFileURL(file).href));
  }
  return libraries.get(root);
}

/** a wasm-simd backend for a side (its thread count; its SIMD build when it names one) */
export async function backendFor(side) {
  const lib = await library(side.root);
  return lib.createBackend({ prefer: 'wasm-simd', threads: side.threads, wasm: side.wasm ? { simd: side.wasm } : undefined });
}

/** the workload the options name (--workload W1|W2, default W1), with --hidden/--activation/--optimizer/--lr/--batch over it */
export const WORKLOAD_OPTIONS = {
  workload: { type: 'string' }, hidden: { type: 'string' }, activation: { type: 'string' }, optimizer: { type: 'string' }, lr: { type: 'string' }, batch: { type: 'string' },
};
export function workload(o, usage) {
  const base = WORKLOADS.find((w) => w.name === (o.workload ?? 'W1'));
  if (!base) fail(`--workload must be one of ${WORKLOADS.map((w) => w.name).join(', ')}, got ${o.workload}`, usage);
  const w = { ...base };
  if (o.hidden !== undefined) w.hidden = o.hidden.split(',').map(Number);
  if (o.activation !== undefined) w.activation = o.activation;
  if (o.optimizer !== undefined) { w.optimizer = o.optimizer; w.momentum = 0.9; }
  if (o.lr !== undefined) w.lr = Number(o.lr);
  if (o.batch !== undefined) w.batchSize = Number(o.batch);
  if (!w.hidden.every((h) => Number.isInteger(h) && h > 0) || !(w.lr > 0) || !Number.isInteger(w.batchSize) || w.batchSize < 1) fail(`bad workload: ${describeWorkload(w)}`, usage);
  if (o.hidden || o.activation || o.optimizer || o.lr || o.batch) w.name += '*';
  return w;
}
export const describeWorkload = (w) => `${w.name}: 784-${w.hidden.join('-')}-10 ${w.activation}, ${w.optimizer} lr ${w.lr}, batch ${w.batchSize}`;

/** a side's backend and a model of the workload on it (seeded: both sides start from the same weights) */
export async function modelFor(side, w) {
  const lib = await library(side.root);
  const backend = await backendFor(side);
  const model = await lib.Model.create({ layers: [784, ...w.hidden, 10], activation: w.activation, seed: w.seed }, { backend });
  return { lib, backend, model };
}
/** fit() options for one epoch of the workload (no event-loop turns inside the epoch) */
export const fitOptions = (w) => ({ epochs: 1, batchSize: w.batchSize, optimizer: w.optimizer, learningRate: w.lr, momentum: w.momentum || 0.9, yieldMs: 60_000 });

/** MNIST from a library; with `quick`, the first 6,000 training and 1,000 test images */
export function mnist(lib, quick) {
  const d = lib.loadMnist();
  return quick ? { train: { ...d.train, count: 6000 }, test: { ...d.test, count: 1000 } } : d;
}

/** a model's parameters as one array (for bit-for-bit comparison) */
export function paramsOf(model) {
  if (typeof model.readParams === 'function') return model.readParams();
  return Float32Array.from(model.getWeights().flatMap((l) => [...l.W, ...l.b]));
}
/** true when two float arrays hold the same bits */
export function sameBits(x, y) {
  if (x.length !== y.length) return false;
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** n seeded values in [-0.5, 0.5) (the same for both sides of an A/B) */
export function seeded(n, seed = 1) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5);
}

/**
 * Runs a and b `pairs` times in alternating order (a b, b a, a b, ...), so neither is always first,
 * after `warmup` untimed runs of each. Each is called with the pair's index (negative for warm-up)
 * and returns its time in ms. Returns { a: [ms], b: [ms] }, a[i] and b[i] one pair.
 */
export async function interleave(pairs, a, b, { warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) { await a(-1 - i); await b(-1 - i); }
  const ta = [], tb = [];
  for (let p = 0; p < pairs; p++) {
    let x, y;
    if (p % 2) { y = await b(p); x = await a(p); } else { x = await a(p); y = await b(p); }
    ta.push(x); tb.push(y);
  }
  return { a: ta, b: tb };
}

/** ms that fn (sync or async) took */
export async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const fixed = (x, digits) => x.toFixed(digits);
/** `min 339 p10 341 median 365 p90 430 max 438 ms (n 5)` */
export function describe(xs, unit = 'ms', digits = 0) {
  const s = summary(xs);
  return `min ${fixed(s.min, digits)} p10 ${fixed(s.p10, digits)} median ${fixed(s.median, digits)} p90 ${fixed(s.p90, digits)} max ${fixed(s.max, digits)} ${unit} (n ${s.n})`;
}
/** `A/B pair ratio 0.981 (p10 0.95, p90 1.02, 7 pairs); ratio of medians 0.990` */
export function describeRatio(a, b) {
  const r = a.map((x, i) => x / b[i]);
  return `A/B pair ratio ${pairRatio(a, b).toFixed(3)} (p10 ${quantile(r, 0.1).toFixed(3)}, p90 ${quantile(r, 0.9).toFixed(3)}, ${r.length} pairs); ratio of medians ${(median(a) / median(b)).toFixed(3)}`;
}

/** the short commit of a checkout (+dirty when it has uncommitted changes), or '?' */
export function commitOf(root) {
  const git = (...args) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  try {
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : '');
  } catch {
    return '?';
  }
}

/** prints the environment and the two sides: Node and V8, CPU, load, each side's checkout, build and backend */
export function printEnvironment(sides) {
  const c = cpus();
  console.log(`# node ${process.version} (V8 ${process.versions.v8}), ${platform()} ${arch()}, ${c[0]?.model?.trim() ?? 'unknown CPU'} x${c.length}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  for (const [name, s] of Object.entries(sides)) {
    const backend = s.backend ? `, ${s.backend}` : '';
    console.log(`# ${name}: ${s.side.spec} -> ${s.side.root} @ ${commitOf(s.side.root)}${s.side.wasm ? `, simd build ${s.side.wasm}` : ''}, threads ${s.side.threads}${backend}`);
  }
}
