// Scratch measurement (not part of the library or tests): epochs of the browser demo with 1 and 2
// threads in Debian's chromium, alternating. Serves demo/dist (run `npm run demo:build` first) with
// the demo's COOP/COEP headers, sets the form, and reads the epoch time the page reports.
// Usage: node dev/browser-threads.mjs [hidden] [activation] [optimizer] [lr] [batch] [rounds]
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
const [hidden = '64', activation = 'sigmoid', optimizer = 'momentum', lr = '0.1', batch = '32', rounds = '2'] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import('playwright-core');
const { preview } = await import('vite');
process.env.PORT ??= '5199';
const server = await preview({ configFile: join(root, 'demo', 'vite.config.ts'), logLevel: 'warn' });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage();
  await page.goto(server.resolvedUrls.local[0]);
  await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
  const times = { 1: [], 2: [] };
  let acc = {};
  for (let r = 0; r < +rounds; r++) {
    for (const t of r % 2 ? [2, 1] : [1, 2]) {
      await page.fill('input[name="hidden"]', hidden);
      await page.selectOption('select[name="activation"]', activation);
      await page.selectOption('select[name="optimizer"]', optimizer);
      await page.fill('input[name="learningRate"]', lr);
      await page.fill('input[name="batchSize"]', batch);
      await page.selectOption('select[name="threads"]', String(t));
      await page.click('#reset');
      await page.waitForFunction((want) => document.getElementById('backend').textContent === want && document.body.dataset.state === 'idle', t > 1 ? `wasm-simd (${t} threads)` : 'wasm-simd', { timeout: 60_000 });
      await page.click('#start');
      await page.waitForSelector('body[data-state="done"]', { timeout: 600_000 });
      times[t].push(Number(await page.getAttribute('#epoch-time', 'data-ms')));
      acc[t] = Number(await page.getAttribute('#test-accuracy', 'data-value'));
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`chromium ${browser.version()}, 784-${hidden}-10 ${activation} ${optimizer} lr ${lr} batch ${batch}: epoch ms 1 thread ${times[1].map((x) => x.toFixed(0)).join(' ')} | 2 threads ${times[2].map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`median ${med(times[1]).toFixed(0)} vs ${med(times[2]).toFixed(0)}: ${(med(times[2]) / med(times[1])).toFixed(3)}x the time; test accuracy ${acc[1]} vs ${acc[2]}`);
} finally {
  await browser.close();
  await server.close();
}
