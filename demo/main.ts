/** The page: controls, charts, drawing pad and confusion matrix; all training happens in worker.ts. */
import { LineChart, type Series } from './chart.js';
import { TRAINING_DEFAULTS, type NetworkKind } from './networks.js';
import { mnistPreprocess } from './preprocess.js';
import type { FromWorker, Hyper, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- errors: shown on the page, never swallowed ------------------------------------------------
function showError(message: string) {
  const el = $('error');
  el.hidden = false;
  el.textContent = (el.textContent ? `${el.textContent}\n` : '') + message;
  console.error(message);
}
function clearError() {
  const el = $('error');
  el.hidden = true;
  el.textContent = '';
}
window.addEventListener('error', (e) => showError(`error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`error: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`));

// ---- main-thread heartbeat: shows the page never blocks while the worker trains ----------------
const heartbeat = { ticks: 0, maxGapMs: 0, last: performance.now() };
(window as unknown as { simdnetDemo: unknown }).simdnetDemo = { heartbeat };
setInterval(() => {
  const t = performance.now();
  heartbeat.maxGapMs = Math.max(heartbeat.maxGapMs, t - heartbeat.last);
  heartbeat.last = t;
  heartbeat.ticks++;
  if (heartbeat.ticks % 10 === 0) $('heartbeat').textContent = `timer ticks ${heartbeat.ticks}, longest gap ${heartbeat.maxGapMs.toFixed(0)} ms`;
}, 50);

// ---- worker ---------------------------------------------------------------------------------
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
worker.addEventListener('error', (e) => showError(`worker error: ${e.message || 'the training worker failed to load'}`));
worker.addEventListener('messageerror', () => showError('worker error: a message could not be decoded'));

const form = $<HTMLFormElement>('hyper');
// threads share one SharedArrayBuffer, which only a cross-origin-isolated page has (npm run demo
// serves it with COOP and COEP headers; a static host without them keeps 1 thread)
{
  const sel = form.elements.namedItem('threads') as HTMLSelectElement;
  const max = globalThis.crossOriginIsolated ? Math.min(8, Math.max(2, navigator.hardwareConcurrency || 2)) : 1;
  for (let n = 2; n <= max; n++) sel.add(new Option(String(n)));
  if (max === 1) {
    sel.disabled = true;
    sel.title = 'more threads need a cross-origin-isolated page (served with COOP: same-origin and COEP: require-corp, as npm run demo does)';
  }
}
// the network kind: the MLP's fields apply to it only, and picking a kind fills in its optimizer settings
const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => form.elements.namedItem(name) as T;
function showNetworkFields(kind: NetworkKind) {
  for (const name of ['hidden', 'activation']) {
    field(name).disabled = kind !== 'mlp';
    field(name).title = kind === 'mlp' ? '' : 'the CNN has fixed layers: conv 3x3x16 relu, maxpool 2, conv 3x3x32 relu, maxpool 2, flatten, dense 10';
  }
}
field<HTMLSelectElement>('network').addEventListener('change', (e) => {
  const kind = (e.target as HTMLSelectElement).value as NetworkKind;
  const d = TRAINING_DEFAULTS[kind];
  field('optimizer').value = d.optimizer;
  field('learningRate').value = String(d.learningRate);
  field('batchSize').value = String(d.batchSize);
  showNetworkFields(kind);
});
showNetworkFields(field('network').value as NetworkKind); // a reload can keep the choice
function readHyper(): Hyper {
  const f = new FormData(form);
  const network = f.get('network') as NetworkKind;
  const num = (name: string) => {
    const v = Number(f.get(name));
    // an empty field (also what a number input holds when text is typed into it) is not 0
    if (String(f.get(name)).trim() === '' || !Number.isFinite(v)) throw new Error(`${name} must be a number`);
    return v;
  };
  // (read from the fields: a disabled field, as these are with the CNN, is not in the FormData)
  const hidden = field('hidden').value.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const badHidden = !hidden.length || hidden.some((n) => !Number.isInteger(n) || n < 1);
  if (network === 'mlp' && badHidden) throw new Error('hidden layers: give comma-separated positive widths, e.g. 64 or 256,128');
  return {
    backend: f.get('backend') as Hyper['backend'],
    threads: num('threads'),
    network,
    hidden: badHidden ? [] : hidden,
    activation: field('activation').value as Hyper['activation'],
    optimizer: f.get('optimizer') as Hyper['optimizer'],
    learningRate: num('learningRate'),
    momentum: num('momentum'),
    batchSize: num('batchSize'),
    epochs: num('epochs'),
    seed: num('seed'),
  };
}
function withHyper(fn: (h: Hyper) => void) {
  try {
    fn(readHyper());
  } catch (e) {
    showError((e as Error).message);
  }
}

// ---- charts -----------------------------------------------------------------------------------
const lossChart = new LineChart($('loss-chart'), { title: 'training loss', xLabel: 'epoch', yMin: 0, format: (v) => v.toFixed(2) });
const accChart = new LineChart($('acc-chart'), { title: 'accuracy', xLabel: 'epoch', format: (v) => `${(v * 100).toFixed(0)}%` });
let lossPts: [number, number][] = [], trainAccPts: [number, number][] = [], testAccPts: [number, number][] = [];
let emaLoss = NaN, emaAcc = NaN;
function drawCharts() {
  lossChart.setSeries([{ name: 'batch loss (smoothed)', color: '#3b6fd8', points: lossPts }]);
  const acc: Series[] = [
    { name: 'train (smoothed)', color: '#3b6fd8', points: trainAccPts },
    { name: 'test', color: '#1f9d55', points: testAccPts, dots: true },
  ];
  accChart.setSeries(acc);
}
function clearCharts() {
  lossPts = [];
  trainAccPts = [];
  testAccPts = [];
  emaLoss = emaAcc = NaN;
  drawCharts();
  $('confusion').innerHTML = '';
  $('confusion-caption').textContent = '(test set, after each epoch)';
  $('status').textContent = '';
  $('epoch').textContent = $('test-accuracy').textContent = $('epoch-time').textContent = '–';
  $<HTMLProgressElement>('progress').value = 0;
}
let chartPending = false;
function scheduleCharts() {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    drawCharts();
  });
}

// ---- confusion matrix ------------------------------------------------------------------------
function showConfusion(m: number[][], epoch: number) {
  const max = Math.max(...m.flatMap((row, i) => row.filter((_, j) => j !== i)), 1);
  const head = `<tr><th title="true \\ predicted">t\\p</th>${m.map((_, j) => `<th>${j}</th>`).join('')}</tr>`;
  const rows = m.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    const cells = row.map((v, j) => {
      const bg = i === j ? `rgba(31,157,85,${(0.15 + 0.6 * v / Math.max(n, 1)).toFixed(2)})` : v ? `rgba(179,38,30,${(0.1 + 0.7 * v / max).toFixed(2)})` : 'transparent';
      return `<td style="background:${bg}" title="true ${i}, predicted ${j}: ${v}">${v}</td>`;
    });
    return `<tr><th>${i}</th>${cells.join('')}</tr>`;
  });
  $('confusion').innerHTML = head + rows.join('');
  $('confusion-caption').textContent = `(test set, 10,000 images, after epoch ${epoch}; rows: true digit, columns: predicted)`;
}

// ---- probability bars ------------------------------------------------------------------------
const bars = $('bars');
const barEls: { bar: HTMLElement; fill: HTMLElement; pct: HTMLElement }[] = [];
for (let d = 0; d < 10; d++) {
  const label = document.createElement('span');
  label.textContent = String(d);
  const bar = document.createElement('div');
  bar.className = 'bar';
  const fill = document.createElement('div');
  bar.append(fill);
  const pct = document.createElement('span');
  pct.textContent = '–';
  bars.append(label, bar, pct);
  barEls.push({ bar, fill, pct });
}
function showProbs(p: Float32Array | null) {
  const notNumbers = p !== null && !p.every(Number.isFinite); // a diverged network's outputs: no digit to show
  if (notNumbers) p = null;
  let best = -1;
  if (p) for (let d = 0; d < 10; d++) if (best < 0 || p[d] > p[best]) best = d;
  barEls.forEach((b, d) => {
    b.fill.style.width = p ? `${(p[d] * 100).toFixed(1)}%` : '0';
    b.pct.textContent = p ? `${(p[d] * 100).toFixed(1)}%` : '–';
    b.bar.classList.toggle('best', d === best);
  });
  $('prediction').textContent = p ? `${best} (${(p[best] * 100).toFixed(1)}%)` : notNumbers ? "– (the network's outputs are not numbers: Reset it)" : '–';
  $('prediction').dataset.digit = p ? String(best) : '';
}

// ---- drawing pad -----------------------------------------------------------------------------
const pad = $<HTMLCanvasElement>('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
const preview = $<HTMLCanvasElement>('preview').getContext('2d')!;
function clearPad() {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  preview.clearRect(0, 0, 28, 28);
  showProbs(null);
}
clearPad();
let drawing = false, last: [number, number] | null = null;
const pos = (e: PointerEvent): [number, number] => {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
};
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  last = pos(e);
  stroke(last, last);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const p = pos(e);
  stroke(last!, p);
  last = p;
});
const stop = () => {
  drawing = false;
  last = null;
  requestPrediction();
};
pad.addEventListener('pointerup', stop);
pad.addEventListener('pointercancel', stop);
$('clear').addEventListener('click', () => {
  predictId++; // a prediction still in flight is for the ink just cleared: its answer is not shown
  clearPad();
});
function stroke(a: [number, number], b: [number, number]) {
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 20;
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
  requestPrediction();
}

// predictions: at most one in flight; the newest drawing is sent when the previous answer arrives
let predictId = 0, inFlight = false, dirty = false, framePending = false;
function requestPrediction() {
  dirty = true;
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(() => {
    framePending = false;
    sendPrediction();
  });
}
function sendPrediction() {
  if (inFlight || !dirty || !modelReady) return;
  dirty = false;
  const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const grey = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < grey.length; i++) grey[i] = img[i * 4]; // white ink on black: the red channel is the grey level
  const pixels = mnistPreprocess(grey, pad.width, pad.height);
  if (!pixels) {
    showProbs(null);
    return;
  }
  const rgba = preview.createImageData(28, 28);
  for (let i = 0; i < 784; i++) rgba.data.set([pixels[i], pixels[i], pixels[i], 255], i * 4);
  preview.putImageData(rgba, 0, 0);
  inFlight = true;
  send({ type: 'predict', id: ++predictId, pixels }, [pixels.buffer]);
}

// ---- controls --------------------------------------------------------------------------------
let modelReady = false;
let state: 'loading' | 'idle' | 'training' | 'paused' | 'done' = 'loading';
let refocus = false; // the focused button was disabled, and no other has the focus yet
function setState(s: typeof state) {
  const focused = document.activeElement;
  // a button disabled while it had the focus can still hold it here: the browser moves the focus away
  // at its next rendering update, and the worker's answer may come first (Reset, then 'idle' at once)
  const stale = focused instanceof HTMLButtonElement && focused.disabled;
  if (s === 'training' && state !== 'paused') $<HTMLProgressElement>('progress').value = 0; // a new epoch starts
  state = s;
  $('state').textContent = s;
  document.body.dataset.state = s;
  $<HTMLButtonElement>('start').disabled = !(s === 'idle' || s === 'paused' || s === 'done');
  $<HTMLButtonElement>('start').textContent = s === 'paused' ? 'Resume' : s === 'done' ? 'Train more' : 'Start';
  $<HTMLButtonElement>('pause').disabled = s !== 'training';
  $<HTMLButtonElement>('reset').disabled = s === 'loading';
  $<HTMLButtonElement>('download').disabled = s === 'loading' || s === 'training';
  // keyboard use: a disabled button loses the focus (Start once training runs, Pause once paused,
  // Reset while the new model is built); it goes to the button that now applies, not to the page
  if (stale || (focused instanceof HTMLButtonElement && focused.disabled)) refocus = true;
  else if (focused && focused !== document.body) refocus = false;
  const next = ['pause', 'start', 'reset'].map((id) => $<HTMLButtonElement>(id)).find((b) => !b.disabled);
  if (refocus && next) {
    next.focus();
    refocus = false;
  }
}
setState('loading');

$('start').addEventListener('click', () => withHyper((hyper) => send({ type: 'start', hyper })));
$('pause').addEventListener('click', () => send({ type: 'pause' }));
$('reset').addEventListener('click', () =>
  withHyper((hyper) => {
    clearCharts();
    modelReady = false;
    setState('loading');
    send({ type: 'reset', hyper });
  }),
);
$('download').addEventListener('click', () => send({ type: 'download' }));

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  // after Reset, until the new model arrives: the ended run's last batches and state are not shown
  if (!modelReady && (m.type === 'batch' || m.type === 'epoch' || m.type === 'state')) return;
  switch (m.type) {
    case 'status':
      $('status').textContent = m.text;
      break;
    case 'data':
      $('data').textContent = `MNIST: ${m.train.toLocaleString('en')} training, ${m.test.toLocaleString('en')} test images (loaded in ${(m.ms / 1000).toFixed(1)} s)`;
      $('status').textContent = '';
      break;
    case 'model':
      $('backend').textContent = m.backend;
      $('backend').dataset.backend = m.backend;
      $('simd').textContent = m.simd ? '(this browser has WebAssembly SIMD)' : '(no WebAssembly SIMD in this browser)';
      $('network').textContent = `${m.kind === 'cnn' ? 'CNN: ' : 'MLP '}${m.network}, ${m.params.toLocaleString('en')} parameters`;
      $('network').dataset.kind = m.kind;
      modelReady = true;
      requestPrediction();
      break;
    case 'state':
      setState(m.state);
      if (m.state === 'training') clearError(); // a run started: earlier errors are about earlier attempts
      break;
    case 'batch': {
      const x = m.epoch - 1 + m.batch / m.batches;
      emaLoss = Number.isNaN(emaLoss) ? m.loss : 0.9 * emaLoss + 0.1 * m.loss;
      emaAcc = Number.isNaN(emaAcc) ? m.accuracy : 0.9 * emaAcc + 0.1 * m.accuracy;
      lossPts.push([x, emaLoss]);
      trainAccPts.push([x, emaAcc]);
      $<HTMLProgressElement>('progress').value = m.batch / m.batches;
      $('status').textContent = `epoch ${m.epoch}, batch ${m.batch} of ${m.batches}`;
      scheduleCharts();
      requestPrediction(); // the weights changed: refresh the drawn digit's probabilities
      break;
    }
    case 'epoch': {
      const l = m.logs;
      testAccPts.push([l.epoch, l.testAccuracy!]);
      $('epoch').textContent = String(l.epoch);
      $('test-accuracy').textContent = `${(l.testAccuracy! * 100).toFixed(2)}%`;
      $('test-accuracy').dataset.value = String(l.testAccuracy);
      $('epoch-time').textContent = `${(l.epochMs / 1000).toFixed(2)} s (${l.samplesPerSec === null ? '' : `${Math.round(l.samplesPerSec).toLocaleString('en')} images/s, `}${l.backend})`;
      $('epoch-time').dataset.ms = String(l.epochMs);
      showConfusion(m.confusion, l.epoch);
      scheduleCharts();
      break;
    }
    case 'prediction':
      inFlight = false;
      if (m.id === predictId) showProbs(m.probs);
      sendPrediction();
      break;
    case 'file': {
      const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = m.name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      break;
    }
    case 'error':
      showError(m.message);
      $<HTMLButtonElement>('reset').disabled = false; // e.g. an unsupported backend: pick another and reset
      break;
  }
};

withHyper((hyper) => send({ type: 'init', base: document.baseURI, hyper }));
