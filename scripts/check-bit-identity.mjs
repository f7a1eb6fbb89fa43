#!/usr/bin/env node
/**
 * Issue 21's "must not change": trains every case of scripts/bit-identity-cases.mjs (the golden runs,
 * `--preset article`, `--preset fast`, the first two epochs of `--preset best-mlp` with 1 and 2
 * threads; wasm-simd, wasm-scalar, ts) on dist/ and compares the SHA-256 of each run's final weights
 * with test/bit-identity.json. Slow (best-mlp on ts takes many minutes); `npm test` runs the cheap
 * subset (test/bit-identity.test.ts). Needs `npm run build` first.
 *
 *   node scripts/check-bit-identity.mjs                # every case; exit 1 on a mismatch
 *   node scripts/check-bit-identity.mjs article fast   # cases whose id contains one of these words
 *   node scripts/check-bit-identity.mjs --except 'best-mlp 2 epochs ts'   # all but those
 *   node scripts/check-bit-identity.mjs --write        # (re)record the hashes (only on the reference code)
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { allCases, runCase } from './bit-identity-cases.mjs';

const dist = new URL('../dist/', import.meta.url);
const STORE = new URL('../test/bit-identity.json', import.meta.url);
if (!existsSync(new URL('train/model.js', dist))) {
  process.stderr.write('check-bit-identity: dist/ is missing: run npm run build first\n');
  process.exit(2);
}
const imp = (f) => import(new URL(f, dist).href);
const [{ Model }, { createBackend }, { loadMnist }, { splitValidation }, { PRESETS, DEFAULTS }, { Rng }] = await Promise.all(
  ['train/model.js', 'backends/index.js', 'io/mnist.js', 'train/split.js', 'train/presets.js', 'core/rng.js'].map(imp),
);
const lib = { Model, createBackend, loadMnist, splitValidation, PRESETS, DEFAULTS, Rng };

const argv = process.argv.slice(2);
const write = argv.includes('--write');
const except = argv.flatMap((a, i) => (argv[i - 1] === '--except' ? [a] : []));
const words = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--except');
const cases = allCases().filter((c) => (!words.length || words.some((w) => c.id.includes(w))) && !except.some((w) => c.id.includes(w)));
const stored = existsSync(STORE) ? JSON.parse(readFileSync(STORE, 'utf8')) : {};
const mnist = loadMnist();
let bad = 0;
for (const c of cases) {
  const t0 = performance.now();
  const got = await runCase(lib, c, mnist);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  const want = stored[c.id];
  const verdict = write ? 'recorded' : want === undefined ? 'NO STORED HASH' : want === got ? 'same' : 'DIFFERENT';
  if (!write && want !== got) bad++;
  if (write) stored[c.id] = got;
  process.stdout.write(`${verdict.padEnd(14)} ${c.id.padEnd(40)} ${got.slice(0, 16)} ${s.padStart(7)} s\n`);
}
if (write) writeFileSync(STORE, JSON.stringify(stored, null, 2) + '\n');
process.stdout.write(write ? `${cases.length} hashes recorded in test/bit-identity.json\n` : bad ? `${bad} of ${cases.length} runs differ from test/bit-identity.json\n` : `all ${cases.length} runs bit-identical to test/bit-identity.json\n`);
process.exit(bad ? 1 : 0);
