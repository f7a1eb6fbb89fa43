#!/usr/bin/env node
// Training epochs of the browser demo in Debian's chromium with two thread counts, alternating:
// serves demo/dist (run `npm run demo:build` first) with the demo's cross-origin-isolation headers,
// fills in the form, trains one epoch per run and reads the epoch time the page reports. With --cnn
// the page's CNN (demo/networks.ts) with the optimizer settings the page fills in for it (--optimizer,
// --lr, --batch override them).
// Sides are thread counts only: --a threads=2 --b threads=1 (the defaults). See bench/ab/README.md.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  describe, describeRatio, describeWorkload, fail, interleave, options, parseSide, printEnvironment, ROOT, workload, WORKLOAD_OPTIONS,
} from './harness.mjs';

const USAGE = 'node bench/ab/browser-threads.mjs [--a threads=2] [--b threads=1] [--workload W1|W2] [--hidden N] [--activation A] [--cnn] [--optimizer O] [--lr X] [--batch N] [--pairs 2] [--quick]';
const o = options({ ...WORKLOAD_OPTIONS, cnn: { type: 'boolean' } }, USAGE, { pairs: 2, warmup: 0 });
if (o.cnn && (o.workload || o.hidden || o.activation)) fail('--cnn trains the page\'s CNN: --workload, --hidden and --activation are for the MLP', USAGE);
if (o.quick) o.pairs = 1;
const w = workload(o, USAGE);
if (w.hidden.length !== 1) fail('the demo trains one hidden layer: --hidden takes one width', USAGE);
const sides = { A: parseSide(o.a ?? 'threads=2', USAGE), B: parseSide(o.b ?? 'threads=1', USAGE) };
for (const s of Object.values(sides)) if (s.root !== ROOT || s.wasm) fail(`side '${s.spec}': the page runs this checkout's demo; give threads=N only`, USAGE);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (Debian), or set CHROMIUM_PATH`, USAGE);
if (!existsSync(join(ROOT, 'demo', 'dist', 'index.html'))) fail('demo/dist is missing: run `npm run demo:build` first', USAGE);

const { chromium } = await import('playwright-core');
const { preview } = await import('vite');
process.env.PORT ??= '5199';
const server = await preview({ configFile: join(ROOT, 'demo', 'vite.config.ts'), logLevel: 'warn' });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage();
  await page.goto(server.resolvedUrls.local[0]);
  await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
  const accuracy = {};
  if (o.cnn) {
    await page.selectOption('select[name="network"]', 'cnn'); // fills in the CNN's optimizer settings
    if (o.optimizer) await page.selectOption('select[name="optimizer"]', o.optimizer);
    if (o.lr) await page.fill('input[name="learningRate"]', o.lr);
    if (o.batch) await page.fill('input[name="batchSize"]', o.batch);
  }
  /** one epoch in the page with t threads: its epoch time in ms */
  const epoch = (name, t) => async () => {
    if (!o.cnn) {
      await page.fill('input[name="hidden"]', String(w.hidden[0]));
      await page.selectOption('select[name="activation"]', w.activation);
      await page.selectOption('select[name="optimizer"]', w.optimizer);
      await page.fill('input[name="learningRate"]', String(w.lr));
      await page.fill('input[name="batchSize"]', String(w.batchSize));
    }
    await page.selectOption('select[name="threads"]', String(t));
    await page.click('#reset');
    await page.waitForFunction((want) => document.getElementById('backend').textContent === want && document.body.dataset.state === 'idle', t > 1 ? `wasm-simd (${t} threads)` : 'wasm-simd', { timeout: 60_000 });
    await page.click('#start');
    await page.waitForSelector('body[data-state="done"]', { timeout: 600_000 });
    accuracy[name] = Number(await page.getAttribute('#test-accuracy', 'data-value'));
    return Number(await page.getAttribute('#epoch-time', 'data-ms'));
  };
  printEnvironment({ A: { side: sides.A }, B: { side: sides.B } });
  const settings = await page.evaluate(() => ['optimizer', 'learningRate', 'batchSize'].map((n) => document.querySelector(`[name="${n}"]`).value));
  const what = o.cnn ? `the demo's CNN, ${settings[0]} lr ${settings[1]} batch ${settings[2]}` : describeWorkload(w);
  console.log(`# chromium ${browser.version()}, the demo page, one epoch a run, ${what}; ${o.pairs} pairs`);
  const res = await interleave(o.pairs, epoch('A', sides.A.threads), epoch('B', sides.B.threads), { warmup: o.warmup });
  console.log(`A ${sides.A.threads} threads: ${describe(res.a, 'ms an epoch')}, test accuracy ${accuracy.A}`);
  console.log(`B ${sides.B.threads} threads: ${describe(res.b, 'ms an epoch')}, test accuracy ${accuracy.B}`);
  console.log(describeRatio(res.a, res.b));
} finally {
  await browser.close();
  await server.close();
}
