#!/usr/bin/env node
// End-to-end test of the browser demo (npm run test:e2e, after `npm run demo:build`): serves
// demo/dist on 127.0.0.1, opens it in Debian's /usr/bin/chromium through playwright-core, checks
// that the wasm SIMD backend was picked, trains one epoch, checks the test accuracy (> 90%) and that
// the main thread kept running its timers, draws a digit with the mouse, checks the prediction and
// the model download (and its metadata), and saves demo.png (to a temporary folder; with
// --screenshots docs, as `npm run screenshots` does, to docs/); then the controls' edge cases:
// Clear during a prediction, a double-clicked Start, Resume and Reset by keyboard while training,
// an empty field, a diverged network, a network too big to build, a data file that fails to load
// once; then, on a fresh page, one epoch with 2 threads (Web Workers over a shared memory: the page
// is cross-origin isolated) that must reach the first run's test accuracy exactly; then, on that
// page, one epoch of the CNN (>= 97% test accuracy, progress within the epoch, the main thread's
// timer never stalled, a drawn digit's prediction answered during its end-of-epoch evaluation of the
// test set), its prediction of a drawn 7 and its download, and demo-cnn.png. Then it trains
// the article preset with `simdnet train --report`, opens the HTML report in the same browser, checks it rendered its figures, and saves report.png beside demo.png. Any failure: one
// line on stderr, exit code 1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { screenshotDir } from './screenshots.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// a temporary folder unless --screenshots DIR (npm run screenshots: docs/): a test run changes no tracked file
const shots = screenshotDir(process.argv.slice(2), root);
const screenshot = join(shots, 'demo.png');
const reportShot = join(shots, 'report.png');
const cnnShot = join(shots, 'demo-cnn.png');
const started = Date.now();
const log = (msg) => console.log(`e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${msg}`);

function fail(reason) {
  console.error(`test:e2e FAILED: ${reason}`);
  process.exit(1);
}

if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (Debian), or set CHROMIUM_PATH`);
if (!existsSync(join(root, 'demo', 'dist', 'index.html'))) fail('demo/dist/index.html is missing: run `npm run demo:build` first');

const overall = setTimeout(() => fail('took longer than 240 s'), 240_000);
overall.unref();

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

let browser, server;
try {
  const { chromium } = await import('playwright-core');
  const { preview } = await import('vite');
  const port = Number(process.env.PORT) || (await freePort());
  process.env.PORT = String(port); // demo/vite.config.ts reads it
  server = await preview({ configFile: join(root, 'demo', 'vite.config.ts'), logLevel: 'warn' });
  const url = server.resolvedUrls.local[0];
  log(`serving demo/dist at ${url}`);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  log(`chromium ${browser.version()}`);
  const page = await browser.newPage({ viewport: { width: 1400, height: 980 }, acceptDownloads: true });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console error: ${m.text()}`));
  const checkErrors = async () => {
    const banner = await page.locator('#error').evaluate((el) => (el.hidden ? '' : el.textContent));
    if (banner) throw new Error(`the page shows an error: ${banner.split('\n')[0]}`);
    if (pageErrors.length) throw new Error(pageErrors[0]);
  };

  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'idle' || !document.getElementById('error').hidden, null, { timeout: 60_000 }).catch(async (e) => {
    await checkErrors();
    throw new Error(`the demo did not become ready in 60 s (data or wasm not loaded): ${e.message.split('\n')[0]}`);
  });
  await checkErrors();
  const unnamed = await page.$$eval('input, select, progress, button', (els) => els.filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.textContent.trim()).map((el) => el.id || el.name || el.tagName));
  if (unnamed.length) throw new Error(`controls without a label or accessible name: ${unnamed.join(', ')}`);
  const backend = await page.textContent('#backend');
  log(`ready: backend ${backend}; ${await page.textContent('#data')}; network ${await page.textContent('#network')}`);
  if (backend !== 'wasm-simd') throw new Error(`expected the wasm-simd backend to be picked, the page shows '${backend}'`);

  // Start, and watch the page until the run is done: a main-thread timer of our own, next to the
  // page's (its longest gap shows whether the page blocked), the slowest round trip through the main
  // thread's event loop, and the progress bar's values while training (progress within the epoch)
  const trainWatched = async (what, timeoutMs) => {
    await page.evaluate(() => {
      const hb = { ticks: 0, maxGap: 0, last: performance.now() };
      window.__e2eHeartbeat = hb;
      window.__e2eTimer = setInterval(() => {
        const t = performance.now();
        hb.maxGap = Math.max(hb.maxGap, t - hb.last);
        hb.last = t;
        hb.ticks++;
      }, 20);
    });
    const t0 = Date.now();
    await page.click('#start');
    await page.waitForSelector('body[data-state="training"], body[data-state="done"]', { timeout: 10_000 });
    let worstEval = 0;
    const progress = new Set();
    while (!(await page.$('body[data-state="done"]'))) {
      const a = Date.now();
      const p = await page.evaluate(() => new Promise((r) => setTimeout(() => r(document.getElementById('progress').value), 0)));
      worstEval = Math.max(worstEval, Date.now() - a);
      if (p > 0 && p < 1) progress.add(p);
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not finish in ${timeoutMs / 1000} s`);
      await checkErrors();
      await new Promise((r) => setTimeout(r, 100));
    }
    const wall = Date.now() - t0;
    const hb = await page.evaluate(() => {
      clearInterval(window.__e2eTimer);
      return { ...window.__e2eHeartbeat, page: window.simdnetDemo.heartbeat };
    });
    await checkErrors();
    // generous bounds, as this machine is shared: a main thread blocked by training (seconds per epoch) exceeds them
    if (hb.maxGap > 2000) throw new Error(`the main thread blocked: its 20 ms timer had a ${hb.maxGap.toFixed(0)} ms gap while training (${what})`);
    if (hb.ticks < (wall / 20) * 0.1) throw new Error(`the main thread's 20 ms timer ticked only ${hb.ticks} times in ${wall} ms (${what})`);
    return { wall, hb, worstEval, progress: progress.size };
  };
  const { wall, hb, worstEval } = await trainWatched('one epoch', 90_000);
  const acc = Number(await page.getAttribute('#test-accuracy', 'data-value'));
  const epochMs = Number(await page.getAttribute('#epoch-time', 'data-ms'));
  log(`epoch 1: test accuracy ${(acc * 100).toFixed(2)}%, epoch time ${(epochMs / 1000).toFixed(2)} s (${(wall / 1000).toFixed(1)} s from Start to done, evaluation included)`);
  log(`main thread while training: ${hb.ticks} ticks of a 20 ms timer over ${(wall / 1000).toFixed(1)} s, longest gap ${hb.maxGap.toFixed(0)} ms; slowest event-loop round trip from the test ${worstEval} ms`);
  if (!(acc > 0.9)) throw new Error(`test accuracy after one epoch is ${(acc * 100).toFixed(2)}%, expected > 90%`);
  const confusionCells = await page.locator('#confusion td').count();
  if (confusionCells !== 100) throw new Error(`expected a 10x10 confusion matrix, found ${confusionCells} cells`);

  // draw a 7 with the mouse: a top bar, then a diagonal down to the left
  const box = await page.locator('#pad').boundingBox();
  const P = (x, y) => [box.x + (x / 280) * box.width, box.y + (y / 280) * box.height];
  const strokes = [
    [[80, 70], [200, 70], [185, 110], [160, 160], [140, 215]],
  ];
  const drawSeven = async (steps) => {
    for (const s of strokes) {
      await page.mouse.move(...P(...s[0]));
      await page.mouse.down();
      for (const pt of s.slice(1)) await page.mouse.move(...P(...pt), { steps });
      await page.mouse.up();
    }
  };
  await drawSeven(8);
  await page.waitForFunction(() => document.querySelector('#prediction')?.dataset.digit, null, { timeout: 10_000 });
  await checkErrors();
  const prediction = await page.textContent('#prediction');
  const bars = await page.$$eval('#bars span:nth-child(3n)', (els) => els.map((e) => parseFloat(e.textContent)));
  const sum = bars.reduce((a, b) => a + b, 0);
  log(`drew a 7: prediction ${prediction}; the 10 bars sum to ${sum.toFixed(1)}%`);
  if (bars.length !== 10 || Math.abs(sum - 100) > 1) throw new Error(`expected 10 probability bars summing to 100%, got ${bars.length} summing to ${sum}`);

  // pause and resume: a further epoch, paused part-way, continues from the same batch. An MLP epoch
  // takes under a second: on a loaded machine it can end before the Pause click arrives (the page is
  // then 'done', not 'paused'); that is the test's race, not the page's, so the next epoch tries again
  let epochs = 1, pausedAt = null;
  for (let attempt = 1; pausedAt === null; attempt++) {
    if (attempt > 3) throw new Error('three epochs in a row ended before Pause took effect');
    await page.click('#start'); // "Train more"
    epochs++;
    await page.waitForFunction((e) => new RegExp(`^epoch ${e},`).test(document.getElementById('status').textContent) && document.getElementById('progress').value > 0.2, epochs, { timeout: 30_000 });
    await page.click('#pause', { timeout: 5_000 }).catch(() => {}); // disabled once the epoch has ended
    await page.waitForSelector('body[data-state="paused"], body[data-state="done"]', { timeout: 10_000 });
    if ((await page.getAttribute('body', 'data-state')) === 'paused') pausedAt = await page.textContent('#status');
    else log(`epoch ${epochs} ended before Pause took effect (a loaded machine): again in the next epoch`);
  }
  await page.waitForTimeout(400);
  const stillAt = await page.textContent('#status');
  if (stillAt !== pausedAt) throw new Error(`training went on after Pause: '${pausedAt}' then '${stillAt}'`);
  if (!/^Resume$/.test(await page.textContent('#start'))) throw new Error('the Start button does not offer Resume while paused');
  await page.click('#start');
  await page.waitForSelector('body[data-state="done"]', { timeout: 60_000 });
  await checkErrors();
  const epoch2 = await page.textContent('#epoch');
  const acc2 = Number(await page.getAttribute('#test-accuracy', 'data-value'));
  log(`paused at '${pausedAt}', resumed: epoch ${epoch2} test accuracy ${(acc2 * 100).toFixed(2)}%`);
  if (epoch2 !== String(epochs) || !(acc2 > 0.9)) throw new Error(`after pause and resume expected epoch ${epochs} above 90%, got epoch ${epoch2} at ${acc2}`);

  // the trained model downloads in simdnet's model file format
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('#download')]);
  const file = join(tmpdir(), `simdnet-e2e-${process.pid}.simdnet`);
  await download.saveAs(file);
  const bytes = readFileSync(file);
  const magic = bytes.subarray(0, 8).toString('latin1');
  log(`downloaded ${download.suggestedFilename()} (${bytes.length.toLocaleString('en')} bytes)`);
  if (magic !== 'SIMDNET\0' || bytes.length < 784 * 64 * 4) throw new Error(`the downloaded model is not a simdnet model file (magic ${JSON.stringify(magic)}, ${bytes.length} bytes)`);
  const meta = bytes.toString('latin1').match(/"trainedIn":[^}]*/)?.[0] ?? '';
  if (!meta.includes(`"epochs":${epochs}`) || !meta.includes('"backend":"wasm-simd"')) throw new Error(`the downloaded model's metadata does not say ${epochs} epochs on wasm-simd: {${meta}}`);

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot: ${screenshot}`);

  // Clear while the last stroke's prediction is in flight: its answer is not shown for the blank pad
  await page.evaluate(() => new Promise((resolve) => {
    const pad = document.getElementById('pad'), r = pad.getBoundingClientRect();
    const at = (type) => new PointerEvent(type, { pointerId: 1, clientX: r.left + 140, clientY: r.top + 140, bubbles: true });
    pad.dispatchEvent(at('pointerdown'));
    pad.dispatchEvent(at('pointerup'));
    requestAnimationFrame(() => { // after the page's frame callback that sent the prediction
      document.getElementById('clear').click();
      resolve();
    });
  }));
  await page.waitForTimeout(300);
  const afterClear = await page.textContent('#prediction');
  if (afterClear !== '–') throw new Error(`after Clear the blank pad shows the prediction '${afterClear}'`);

  // a fast double click on Start after changing the backend: one run, on the new backend
  const states = () => page.evaluate(() => window.__e2eStates);
  await page.evaluate(() => {
    const seen = (window.__e2eStates = []);
    new MutationObserver(() => seen.push(document.body.dataset.state)).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
  });
  await page.click('#reset');
  await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
  await page.selectOption('select[name="backend"]', 'wasm-scalar');
  await page.evaluate(() => (window.__e2eStates.length = 0));
  await page.dblclick('#start');
  await page.waitForFunction(() => document.getElementById('progress').value > 0.05, null, { timeout: 30_000 });
  await page.click('#pause');
  await page.waitForSelector('body[data-state="paused"]', { timeout: 10_000 });
  await page.waitForTimeout(300);
  const seen = await states();
  const shown = await page.textContent('#backend');
  log(`double-clicked Start after picking wasm-scalar: states ${seen.join(' ')}, backend ${shown}`);
  if (shown !== 'wasm-scalar' || seen.slice(seen.indexOf('training')).some((s) => s !== 'training' && s !== 'paused')) {
    throw new Error(`a double click on Start (backend changed to wasm-scalar) went through the states ${seen.join(', ')} with backend ${shown}: two runs at once?`);
  }

  // Reset while training: the new network shows no batch, progress or curve of the ended run
  // (Resume and Reset by keyboard: the focus moves from a button that gets disabled to the one that applies)
  const focusedId = () => page.evaluate(() => document.activeElement?.id);
  await page.focus('#start');
  await page.keyboard.press('Enter'); // Resume
  await page.waitForSelector('body[data-state="training"]', { timeout: 10_000 });
  if ((await focusedId()) !== 'pause') throw new Error(`after Resume by keyboard the focus is on '${await focusedId()}', not on Pause`);
  const statusBefore = await page.textContent('#status');
  await page.waitForFunction((s) => document.getElementById('status').textContent !== s, statusBefore, { timeout: 10_000 });
  await page.focus('#reset');
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
  await page.waitForTimeout(300);
  if ((await focusedId()) !== 'start') throw new Error(`after Reset by keyboard the focus is on '${await focusedId() || 'the page'}', not on Start`);
  const afterReset = await page.evaluate(() => ({ status: document.getElementById('status').textContent, progress: document.getElementById('progress').value, curves: document.querySelectorAll('#loss-chart path').length }));
  if (afterReset.status || afterReset.progress || afterReset.curves) throw new Error(`after Reset during training the new network shows status '${afterReset.status}', progress ${afterReset.progress}, ${afterReset.curves} loss curve(s) of the old run`);
  await checkErrors();
  log('Clear during a prediction, double-clicked Start, Reset during training: ok');

  // an error the page should show: the banner says so; then it is dismissed for the next checks
  // (keep: leave it on the page; gone: an earlier error that must have been cleared by now)
  const expectError = async (re, what, { keep = false, gone = null } = {}) => {
    await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('error').textContent), re.source, { timeout: 10_000 }).catch(async () => {
      const shown = (await page.textContent('#error')).split('\n').pop();
      throw new Error(`${what}: the page did not show an error matching ${re}${shown ? ` (it shows '${shown}')` : ''}`);
    });
    const text = await page.textContent('#error');
    if (gone && gone.test(text)) throw new Error(`${what}: the banner still shows an earlier error: '${text.split('\n')[0]}'`);
    for (let i = pageErrors.length - 1; i >= 0; i--) if (re.test(pageErrors[i])) pageErrors.splice(i, 1);
    if (keep) return;
    await page.locator('#error').evaluate((el) => { el.hidden = true; el.textContent = ''; });
  };
  // an empty number field (what a number input holds when text is typed into it) is refused, not read as 0
  await page.fill('input[name="seed"]', '');
  await page.click('#reset');
  await expectError(/seed must be a number/, 'Reset with an empty seed', { keep: true });
  await page.fill('input[name="seed"]', '1');

  // a diverged network (learning rate 1e30): the drawn digit gets no NaN% probabilities
  await page.fill('input[name="learningRate"]', '1e30');
  await page.selectOption('select[name="activation"]', 'relu');
  await page.click('#reset');
  await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
  await page.click('#start');
  // the next run's start clears the banner of the earlier attempt (the empty seed)
  await expectError(/diverged/, 'training at learning rate 1e30', { gone: /seed must be a number/ });
  await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
  await drawSeven(4);
  await page.waitForFunction(() => document.getElementById('prediction').textContent !== '–', null, { timeout: 10_000 });
  const diverged = `${await page.textContent('#prediction')} ${await page.textContent('#bars')}`;
  if (/NaN|undefined/.test(diverged)) throw new Error(`the diverged network's prediction shows '${diverged}'`);
  await checkErrors();
  log(`empty seed refused; diverged network: prediction '${await page.textContent('#prediction')}'`);

  // a Start whose new network cannot be built (a layer too big for the library's limits) keeps the old one, and the download says so
  await page.fill('input[name="hidden"]', '100000000');
  await page.click('#start');
  await expectError(/W \[784x100000000\] holds 78400000000 values, more than/, 'Start with a hidden layer of 10^8');
  const [kept] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('#download')]);
  await kept.saveAs(file);
  const keptMeta = readFileSync(file).toString('latin1').match(/"hidden":\[[^\]]*\]/)?.[0];
  if (kept.suggestedFilename() !== 'mnist-784-64-10-e0.simdnet' || keptMeta !== '"hidden":[64]') throw new Error(`after a failed rebuild the download is ${kept.suggestedFilename()} with ${keptMeta}`);
  await checkErrors();

  // a data file that fails to load once (a network glitch): the page says so, and Reset loads again
  const retry = await browser.newPage();
  retry.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  await retry.route('**/data/t10k-labels-idx1-ubyte.gz', (r) => r.fulfill({ status: 503, body: '' }), { times: 1 });
  await retry.goto(url);
  await retry.waitForFunction(() => /HTTP 503/.test(document.getElementById('error').textContent), null, { timeout: 30_000 });
  const failedStatus = await retry.textContent('#status');
  await retry.click('#reset');
  await retry.waitForSelector('body[data-state="idle"]', { timeout: 30_000 }).catch(async () => {
    throw new Error(`Reset after a failed data load did not load again: '${(await retry.textContent('#error')).split('\n').pop()}'`);
  });
  log(`a failed data load: status '${failedStatus}', Reset loaded the data: ${await retry.textContent('#data')}`);
  await retry.close();
  if (pageErrors.length) throw new Error(pageErrors[0]);

  // threads: demo/vite.config.ts serves the page cross-origin isolated, so the demo offers more
  // threads (Web Workers over one shared memory); a fresh page with the first run's settings and
  // 2 threads must train the same network: the same test accuracy, to the image
  await page.goto(url);
  await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
  if (!(await page.evaluate(() => globalThis.crossOriginIsolated))) throw new Error('the demo page is not cross-origin isolated (COOP/COEP headers missing), so it cannot offer threads');
  await page.selectOption('select[name="threads"]', '2');
  await page.click('#reset');
  await page.waitForFunction(() => document.getElementById('backend').textContent === 'wasm-simd (2 threads)', null, { timeout: 30_000 }).catch(async () => {
    await checkErrors();
    throw new Error(`after choosing 2 threads and Reset the page shows backend '${await page.textContent('#backend')}', expected 'wasm-simd (2 threads)'`);
  });
  const tThreads = Date.now();
  await page.click('#start');
  await page.waitForSelector('body[data-state="done"]', { timeout: 90_000 }).catch(async () => {
    await checkErrors();
    throw new Error('one epoch with 2 threads did not finish in 90 s');
  });
  await checkErrors();
  const accThreads = Number(await page.getAttribute('#test-accuracy', 'data-value'));
  const epochMsThreads = Number(await page.getAttribute('#epoch-time', 'data-ms'));
  log(`2 threads: test accuracy ${(accThreads * 100).toFixed(2)}% (1 thread: ${(acc * 100).toFixed(2)}%), epoch time ${(epochMsThreads / 1000).toFixed(2)} s (1 thread: ${(epochMs / 1000).toFixed(2)} s; ${((Date.now() - tThreads) / 1000).toFixed(1)} s from Start to done)`);
  if (accThreads !== acc) throw new Error(`2 threads trained a different network: test accuracy ${accThreads} where 1 thread gave ${acc}`);

  // the CNN (demo/networks.ts), on the same isolated page with its 2 threads: picking it fills in its
  // optimizer settings; one epoch of the 60,000 training images in the worker, progress shown within
  // the epoch, the main thread never blocked; its test accuracy (the 10,000 test images) above a
  // floor that an MLP's first epoch (95.26%) does not reach, nor this CNN with its convolutions frozen
  // at their initial weights (96.69%: a filter gradient that never arrives); then the pad's 7,
  // preprocessed to the [28, 28] image the CNN reads, is predicted as a 7
  await page.selectOption('select[name="network"]', 'cnn');
  const filled = await page.evaluate(() => ['optimizer', 'learningRate', 'batchSize'].map((n) => document.querySelector(`[name="${n}"]`).value).join(' '));
  if (filled !== 'adam 0.003 64') throw new Error(`picking the CNN filled in the optimizer settings '${filled}', expected 'adam 0.003 64'`);
  await page.click('#reset');
  await page.waitForFunction(() => document.getElementById('network').dataset.kind === 'cnn' && document.body.dataset.state === 'idle', null, { timeout: 30_000 }).catch(async () => {
    await checkErrors();
    throw new Error(`after choosing the CNN and Reset the page shows the network '${await page.textContent('#network')}'`);
  });
  log(`${await page.textContent('#network')}; backend ${await page.textContent('#backend')}`);
  // a 7 on the pad while the CNN trains: the page asks for its prediction after every batch message,
  // the last one included, which reaches the worker as the epoch's evaluation of the 10,000 test
  // images starts; fit() yields between the evaluation's batches, so the answer comes before the
  // epoch's end (a worker evaluating in one synchronous pass answered it only after the epoch message)
  await page.click('#clear');
  await drawSeven(2);
  await page.evaluate(() => {
    const events = (window.__e2eEvents = []);
    const watch = (id, what, opts) => new MutationObserver(() => events.push(what())).observe(document.getElementById(id), opts);
    watch('progress', () => (document.getElementById('progress').value === 1 ? 'last batch' : 'batch'), { attributes: true });
    watch('prediction', () => 'prediction', { childList: true, characterData: true, subtree: true });
    watch('test-accuracy', () => 'epoch', { childList: true, characterData: true, subtree: true });
  });
  const cnn = await trainWatched('one epoch of the CNN', 120_000);
  const events = await page.evaluate(() => window.__e2eEvents);
  const lastBatch = events.indexOf('last batch'), epochEnd = events.indexOf('epoch', lastBatch);
  if (lastBatch < 0 || epochEnd < 0) throw new Error(`the CNN's epoch showed no last batch or no epoch end: ${events.slice(-8).join(', ')}`);
  const duringEval = events.slice(lastBatch, epochEnd).filter((e) => e === 'prediction').length;
  log(`drawn 7 during the CNN's end-of-epoch evaluation: ${duringEval} predictions answered between its last batch and the epoch's end`);
  if (duringEval === 0) throw new Error(`the worker answered no prediction during the CNN's end-of-epoch evaluation (events after its last batch: ${events.slice(lastBatch, epochEnd + 2).join(', ')})`);
  const accCnn = Number(await page.getAttribute('#test-accuracy', 'data-value'));
  const epochMsCnn = Number(await page.getAttribute('#epoch-time', 'data-ms'));
  log(`CNN epoch 1: test accuracy ${(accCnn * 100).toFixed(2)}%, epoch time ${(epochMsCnn / 1000).toFixed(2)} s (${(cnn.wall / 1000).toFixed(1)} s from Start to done, evaluation included); ${cnn.progress} progress values within the epoch`);
  log(`main thread while the CNN trained: ${cnn.hb.ticks} ticks of a 20 ms timer over ${(cnn.wall / 1000).toFixed(1)} s, longest gap ${cnn.hb.maxGap.toFixed(0)} ms; slowest event-loop round trip from the test ${cnn.worstEval} ms`);
  if (!(accCnn >= 0.97)) throw new Error(`the CNN's test accuracy after one epoch is ${(accCnn * 100).toFixed(2)}%, expected >= 97%`);
  if (cnn.progress < 3) throw new Error(`the progress bar showed ${cnn.progress} values within the CNN's epoch, expected it to move while training`);
  await page.click('#clear');
  await drawSeven(8);
  await page.waitForFunction(() => document.querySelector('#prediction')?.dataset.digit, null, { timeout: 10_000 });
  await checkErrors();
  const predictionCnn = await page.textContent('#prediction');
  log(`drew a 7 for the CNN: prediction ${predictionCnn}`);
  if ((await page.getAttribute('#prediction', 'data-digit')) !== '7') throw new Error(`the CNN predicts the drawn 7 as ${predictionCnn}`);
  await page.screenshot({ path: cnnShot, fullPage: true });
  log(`screenshot: ${cnnShot}`);
  // the CNN downloads as a model file holding its layer list and tensors
  const [cnnDownload] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('#download')]);
  await cnnDownload.saveAs(file);
  const { decodeModel } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const saved = decodeModel(new Uint8Array(readFileSync(file)), cnnDownload.suggestedFilename());
  const kinds = saved.description.layers.map((l) => l.type).join(' ');
  log(`downloaded ${cnnDownload.suggestedFilename()}: ${kinds}; meta ${JSON.stringify({ network: saved.meta.network, epochs: saved.meta.epochs, hidden: saved.meta.hidden })}`);
  if (cnnDownload.suggestedFilename() !== 'mnist-cnn-e1.simdnet' || kinds !== 'conv2d maxpool2d conv2d maxpool2d flatten dense' || saved.meta.epochs !== 1 || saved.meta.network !== 'cnn' || 'hidden' in saved.meta) {
    throw new Error(`the CNN's download is ${cnnDownload.suggestedFilename()} with layers '${kinds}' and meta ${JSON.stringify(saved.meta)}`);
  }

  // the training report: docs/cli.md's command, rendered in the same browser, no network needed
  const reportFile = join(tmpdir(), `simdnet-e2e-report-${process.pid}.html`);
  const done = JSON.parse(execFileSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'train', '--preset', 'article', '--validation-split', '0.1', '--report', reportFile, '--json'], { encoding: 'utf8' }).trim().split('\n').pop());
  const rp = await browser.newPage({ viewport: { width: 1150, height: 1700 } });
  const external = [];
  rp.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) external.push(r.url()); });
  await rp.goto(`file://${reportFile}`);
  const text = await rp.textContent('body');
  const svgs = await rp.locator('svg').count();
  const heat = await rp.locator('table.confusion td').count();
  const digits = await rp.locator('img').count();
  if (external.length) throw new Error(`the report fetched ${external[0]}: it must be self-contained`);
  const accText = `${(done.testAccuracy * 100).toFixed(2)}%`;
  if (!text.includes(accText)) throw new Error(`the report does not show the run's test accuracy ${accText}`);
  if (svgs < 2 || heat < 100 || digits < 10) throw new Error(`the report rendered ${svgs} charts, ${heat} heat-map cells and ${digits} digit images; expected loss and accuracy curves, the 10x10 confusion heat map and misclassified digits`);
  await rp.screenshot({ path: reportShot });
  rmSync(reportFile, { force: true });
  log(`report: test accuracy ${accText}, ${svgs} charts, ${heat} heat-map cells, ${digits} digit images; screenshot: ${reportShot}`);
  console.log(`test:e2e passed: wasm-simd, first epoch ${(epochMs / 1000).toFixed(2)} s, test accuracy ${(acc * 100).toFixed(2)}%, main-thread longest timer gap ${hb.maxGap.toFixed(0)} ms, drawn 7 -> ${prediction}; CNN (2 threads) epoch ${(epochMsCnn / 1000).toFixed(2)} s, test accuracy ${(accCnn * 100).toFixed(2)}%, longest gap ${cnn.hb.maxGap.toFixed(0)} ms, drawn 7 -> ${predictionCnn}`);
} catch (e) {
  fail(String(e?.message ?? e).split('\n')[0]);
} finally {
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
}
