/**
 * `simdnet train --report FILE`: one self-contained HTML file (inline CSS and SVG, digits as PNG
 * data URLs; nothing is fetched when it is viewed) with the per-epoch curves, the test confusion
 * matrix as a heat map, a grid of misclassified test digits, the run's settings, environment and
 * timings. The per-epoch test figures are drawn for display only: nothing is chosen on them.
 */
import type { EpochLogs } from '../train/train.js';
import type { DataSet, Evaluation, Model } from '../train/model.js';
import { encodeGrayPng, pngDataUrl } from './png.js';

export interface Misclassified {
  /** index in the test set */
  index: number;
  label: number;
  pred: number;
  /** the model's probability for `pred` */
  confidence: number;
  /** u8 pixels, 0 = background */
  pixels: Uint8Array;
}

export interface ReportInput {
  command: string;
  network: string;
  settings: Record<string, unknown>;
  data: { dir: string; train: number; validation?: number; test: number; imageShape: number[] };
  epochs: EpochLogs[];
  bestEpoch?: number;
  stoppedEarly?: boolean;
  test: Evaluation;
  misclassified: Misclassified[];
  misclassifiedTotal: number;
  env: { simdnet: string; node: string; backend: string; threads?: number; cpu: string; cpus: number; platform: string; date: string };
  timings: { totalMs: number; /** over the epochs trained whole in this process; null when none was */ epochMsMedian: number | null; evalMs: number };
  savedTo?: string;
  /** a CNN's first convolution, drawn as small images (absent for networks without one) */
  filters?: ConvFilters;
}

/** the weights of a convolution: HWIO (KH, KW, C, F), as Conv2D holds them */
export interface ConvFilters {
  /** the layer's 1-based position in the list */
  layer: number;
  kernel: [number, number];
  channels: number;
  filters: number;
  W: Float32Array;
}

/** the first convolution of a model's layer list, with a copy of its weights; undefined when there is none */
export function firstConvFilters(model: Model): ConvFilters | undefined {
  const i = model.config.model.layers.findIndex((d) => d.type === 'conv2d');
  if (i < 0) return undefined;
  const [KH, KW, C, F] = model.layers[i].params.find((t) => t.name === 'W')!.shape;
  return { layer: i + 1, kernel: [KH, KW], channels: C, filters: F, W: model.getLayerTensors()[`layers.${i}.W`] };
}

/** at most this many filters are drawn */
export const MAX_FILTERS_SHOWN = 128;

/**
 * each filter as a KH x KW grayscale image (the mean over its input channels when there are several):
 * mid-gray is 0, white the largest positive weight of all the filters shown, black minus that (one
 * scale for all, so the filters compare)
 */
export function filterImages(f: ConvFilters): Uint8Array[] {
  const [KH, KW] = f.kernel, C = f.channels, F = f.filters, n = Math.min(F, MAX_FILTERS_SHOWN);
  const means = Array.from({ length: n }, (_, k) => {
    const px = new Float64Array(KH * KW);
    for (let t = 0; t < KH * KW; t++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += f.W[(t * C + c) * F + k];
      px[t] = sum / C;
    }
    return px;
  });
  let max = 0;
  for (const px of means) for (const v of px) max = Math.max(max, Math.abs(v));
  return means.map((px) => Uint8Array.from(px, (v) => (max > 0 ? Math.round(127.5 + (127.5 * v) / max) : 128)));
}

function filterGrid(f: ConvFilters): string {
  const [KH, KW] = f.kernel;
  const zoom = Math.max(2, Math.round(48 / Math.max(KH, KW)));
  const imgs = filterImages(f).map((px, k) => `<img src="${pngDataUrl(encodeGrayPng(px, KW, KH))}" width="${KW * zoom}" height="${KH * zoom}" alt="filter ${k + 1}" title="filter ${k + 1}" style="image-rendering:pixelated;border:1px solid #ddd;margin:2px">`);
  const shown = imgs.length < f.filters ? `the first ${imgs.length} of its ${f.filters} filters` : `its ${f.filters} filters`;
  return `<h2>First convolution's filters</h2>
<p class="muted">Layer ${f.layer}, ${KH}x${KW} over ${f.channels} input channel${f.channels > 1 ? 's (each image is the mean over them)' : ''}: ${shown}, one scale for all: mid-gray 0, white the largest positive weight, black its negative.</p>
<div class="filters">${imgs.join('')}</div>
`;
}

/** the test samples the model gets wrong, most confident first (at most `max`) */
export function findMisclassified(model: Model, test: DataSet, max: number): { items: Misclassified[]; total: number } {
  const V = model.classes, F = test.features;
  const probs = model.predict(test.images, test.count);
  const wrong: Misclassified[] = [];
  for (let i = 0; i < test.count; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (probs[i * V + v] > probs[i * V + best]) best = v;
    if (best !== test.labels[i]) wrong.push({ index: i, label: test.labels[i], pred: best, confidence: probs[i * V + best], pixels: test.images.subarray(i * F, i * F + F) });
  }
  const total = wrong.length;
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return { items: wrong.slice(0, max), total };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
export const pct = (x: number | undefined, digits = 2) => (x === undefined || Number.isNaN(x) ? '-' : `${(x * 100).toFixed(digits)}%`);
const fmtMs = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(2)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

interface Series { name: string; values: (number | undefined)[]; color: string; dash?: boolean }

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** an SVG line chart of per-epoch values; x is the epoch (1-based) */
export function lineChart(title: string, series: Series[], format: (y: number, decimals: number) => string, opts: { yMax?: number; percent?: boolean } = {}): string {
  const W = 520, H = 280, L = 58, R = 14, T = 30, B = 56;
  const present = series.filter((s) => s.values.some((v) => v !== undefined && Number.isFinite(v)));
  const all = present.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  let lo = Math.min(...all), hi = Math.max(...all);
  if (opts.yMax !== undefined) hi = Math.min(opts.yMax, hi + (hi - lo) * 0.05 || 0.01);
  if (!(hi > lo)) { lo -= 0.01 * (Math.abs(lo) || 1); hi += 0.01 * (Math.abs(hi) || 1); }
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const unit = opts.percent ? step * 100 : step; // tick labels: as many decimals as the step needs
  const decimals = Math.max(0, -Math.floor(Math.log10(unit) + 1e-9) + (Math.abs(unit / 10 ** Math.floor(Math.log10(unit) + 1e-9) - 2.5) < 1e-6 ? 1 : 0));
  const x = (e: number) => L + (n === 1 ? (W - L - R) / 2 : ((e - 1) / (n - 1)) * (W - L - R));
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const out: string[] = [`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`];
  out.push(`<text x="${L}" y="18" class="ctitle">${esc(title)}</text>`);
  for (let v = lo; v <= hi + step / 2; v += step) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${esc(format(v, decimals))}</text>`);
  }
  const xStep = Math.max(1, Math.ceil(n / 10));
  for (let e = 1; e <= n; e += xStep) out.push(`<text x="${x(e).toFixed(1)}" y="${H - B + 16}" class="tick" text-anchor="middle">${e}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - B + 32}" class="tick" text-anchor="middle">epoch</text>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" class="axis"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="axis"/>`);
  present.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === undefined || !Number.isFinite(v) ? null : `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`)).filter((p): p is string => p !== null);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="5 4"' : ''} points="${pts.join(' ')}"/>`);
    for (const p of pts) { const [px, py] = p.split(','); out.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${s.color}"/>`); }
    const lx = L + k * 150, ly = H - 10;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="5 4"' : ''}/>`);
    out.push(`<text x="${lx + 27}" y="${ly}" class="legend">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** the confusion matrix as an HTML table heat map (rows: true class, columns: predicted) */
export function confusionHeatmap(e: Evaluation): string {
  const V = e.confusion.length;
  const rows: string[] = [];
  rows.push('<tr><th class="corner">true \\ pred</th>' + Array.from({ length: V }, (_, j) => `<th>${j}</th>`).join('') + '<th>n</th><th>accuracy</th></tr>');
  let maxOff = 1;
  e.confusion.forEach((r, i) => r.forEach((c, j) => { if (i !== j) maxOff = Math.max(maxOff, c); }));
  e.confusion.forEach((r, i) => {
    const n = r.reduce((a, b) => a + b, 0);
    const cells = r.map((c, j) => {
      let bg = '#fff', fg = '#222';
      if (i === j) {
        const t = n ? c / n : 0; // diagonal: share of the row, blue
        const a = Math.max(0.08, t);
        bg = `rgba(31,119,180,${a.toFixed(3)})`;
        if (a > 0.55) fg = '#fff';
      } else if (c > 0) {
        const a = 0.1 + 0.9 * Math.sqrt(c / maxOff); // off-diagonal: errors, red, relative to the largest
        bg = `rgba(214,39,40,${a.toFixed(3)})`;
        if (a > 0.6) fg = '#fff';
      }
      return `<td class="cm" data-true="${i}" data-pred="${j}" style="background:${bg};color:${fg}" title="true ${i}, predicted ${j}: ${c}">${c}</td>`;
    });
    rows.push(`<tr><th>${i}</th>${cells.join('')}<td class="n">${n}</td><td class="n">${pct(e.perClass[i], 1)}</td></tr>`);
  });
  return `<table class="confusion">${rows.join('')}</table>`;
}

function digitGrid(items: Misclassified[], shape: number[], total: number, count: number): string {
  if (items.length === 0) return '<p>No misclassified test images.</p>';
  const h = shape.length >= 2 ? shape[0] : 1;
  const w = Math.round(items[0].pixels.length / h);
  const cells = items.map((m) => {
    const inv = new Uint8Array(m.pixels.length);
    for (let i = 0; i < inv.length; i++) inv[i] = 255 - m.pixels[i]; // dark ink on white paper
    const url = pngDataUrl(encodeGrayPng(inv, w, h));
    return `<figure class="digit"><img src="${url}" width="${w * 3}" height="${h * 3}" alt="test image ${m.index}: true ${m.label}, predicted ${m.pred}"><figcaption>true <b>${m.label}</b> &rarr; pred <b class="bad">${m.pred}</b><br><span class="muted">#${m.index}, p=${m.confidence.toFixed(2)}</span></figcaption></figure>`;
  });
  return `<p>${total} of ${count} test images are misclassified; the ${items.length} the model is most confident about are shown (test index, probability of the wrong class).</p><div class="digits">${cells.join('')}</div>`;
}

function kv(rows: [string, unknown][]): string {
  return `<table class="kv">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:1120px;padding:0 16px;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#777;font-size:12px}.bad{color:#c62828}
.headline{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}
.card{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:10px 14px;min-width:140px}
.card .v{font-size:22px;font-weight:600}.card .k{color:#666;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #e2e2e2;border-radius:6px}
.chart .grid{stroke:#eee}.chart .axis{stroke:#999}.chart .tick{font-size:11px;fill:#555}.chart .legend{font-size:12px;fill:#333}.chart .ctitle{font-size:13px;font-weight:600;fill:#222}
table{border-collapse:collapse;background:#fff}
.confusion th,.confusion td{border:1px solid #e4e4e4;padding:4px 7px;text-align:right;font-variant-numeric:tabular-nums;min-width:34px}
.confusion th{background:#f3f3f3}.confusion td.n{color:#444;background:#fafafa}
.kv th{text-align:left;font-weight:500;color:#555;padding:2px 16px 2px 0;vertical-align:top}.kv td{padding:2px 0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.epochs th,.epochs td{border:1px solid #e4e4e4;padding:3px 8px;text-align:right;font-variant-numeric:tabular-nums}.epochs th{background:#f3f3f3}
.digits{display:flex;flex-wrap:wrap;gap:8px}
.digit{margin:0;background:#fff;border:1px solid #e2e2e2;border-radius:4px;padding:6px;text-align:center;font-size:12px;width:96px}
.digit img{image-rendering:pixelated;image-rendering:crisp-edges;display:block;margin:0 auto 4px;border:1px solid #eee}
.cols{display:flex;gap:32px;flex-wrap:wrap}.cols>div{flex:1;min-width:320px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f0f0f0;padding:1px 4px;border-radius:3px;word-break:break-all}
`;

export function renderReport(r: ReportInput): string {
  const ep = r.epochs;
  const hasVal = ep.some((e) => e.valAccuracy !== undefined);
  const hasTest = ep.some((e) => e.testAccuracy !== undefined);
  const TEST = 'test (display only)';
  const lossChart = lineChart(`Loss per epoch (${String(r.settings.loss ?? 'ce') === 'mse' ? 'squared error' : 'cross-entropy'})`, [
    { name: 'train (running)', values: ep.map((e) => e.loss), color: '#1f77b4' },
    ...(hasVal ? [{ name: 'validation', values: ep.map((e) => e.valLoss), color: '#ff7f0e' }] : []),
    ...(hasTest ? [{ name: TEST, values: ep.map((e) => e.testLoss), color: '#2ca02c', dash: true }] : []),
  ], (v, d) => v.toFixed(d));
  const accChart = lineChart('Accuracy per epoch', [
    { name: 'train (running)', values: ep.map((e) => e.trainAccuracy), color: '#1f77b4' },
    ...(hasVal ? [{ name: 'validation', values: ep.map((e) => e.valAccuracy), color: '#ff7f0e' }] : []),
    ...(hasTest ? [{ name: TEST, values: ep.map((e) => e.testAccuracy), color: '#2ca02c', dash: true }] : []),
  ], (v, d) => `${(v * 100).toFixed(d)}%`, { yMax: 1, percent: true });
  const kept = ep.find((e) => e.epoch === r.bestEpoch) ?? ep[ep.length - 1];
  const cards: [string, string][] = [
    [pct(r.test.accuracy), `test accuracy (${r.test.correct.toLocaleString('en-US')}/${r.test.count.toLocaleString('en-US')})`],
    [r.test.loss.toFixed(4), 'test loss'],
    ...(kept?.valAccuracy !== undefined ? [[pct(kept.valAccuracy), r.bestEpoch !== undefined ? `validation accuracy (epoch ${kept.epoch}, kept)` : 'validation accuracy (last epoch)'] as [string, string]] : []),
    [String(ep.length), 'epochs'],
    [fmtMs(r.timings.totalMs), 'training time'],
  ];
  const epochRows = ep.map((e) => `<tr><td>${e.epoch}${r.bestEpoch === e.epoch ? ' *' : ''}</td><td>${e.learningRate.toPrecision(3)}</td><td>${e.loss.toFixed(4)}</td><td>${pct(e.trainAccuracy)}</td>${hasVal ? `<td>${e.valLoss?.toFixed(4) ?? '-'}</td><td>${pct(e.valAccuracy)}</td>` : ''}${hasTest ? `<td>${e.testLoss?.toFixed(4) ?? '-'}</td><td>${pct(e.testAccuracy)}</td>` : ''}<td>${Math.round(e.epochMs).toLocaleString('en-US')}</td><td>${e.samplesPerSec === null ? '-' : Math.round(e.samplesPerSec).toLocaleString('en-US')}</td></tr>`).join('');
  const epochHead = `<tr><th>epoch</th><th>lr</th><th>train loss</th><th>train acc.</th>${hasVal ? '<th>val loss</th><th>val acc.</th>' : ''}${hasTest ? '<th>test loss*</th><th>test acc.*</th>' : ''}<th>ms</th><th>samples/s</th></tr>`;
  const settingsRows: [string, unknown][] = Object.entries(r.settings).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v]);
  const data = {
    testAccuracy: r.test.accuracy, testLoss: r.test.loss, correct: r.test.correct, count: r.test.count,
    perClass: r.test.perClass, confusion: r.test.confusion, misclassified: r.misclassifiedTotal,
    epochs: ep, bestEpoch: r.bestEpoch, settings: r.settings, env: r.env, timings: r.timings,
  };
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>simdnet training report: ${esc(r.network)}, ${pct(r.test.accuracy)} test accuracy</title>
<style>${CSS}</style></head><body>
<h1>simdnet training report</h1>
<div class="muted">${esc(r.network)} &middot; ${esc(r.env.date)} &middot; ${esc(r.env.backend)}</div>
<div class="headline">${cards.map(([v, k]) => `<div class="card"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`).join('')}</div>
<p>Command: <code>${esc(r.command)}</code></p>
<p class="muted">Data: ${r.data.train.toLocaleString('en-US')} training${r.data.validation ? ` (${r.data.validation.toLocaleString('en-US')} more held out for validation)` : ''} and ${r.data.test.toLocaleString('en-US')} test images of ${esc(r.data.imageShape.join('x'))} from ${esc(r.data.dir)}. The test set is only evaluated: its per-epoch curve is for display and nothing was chosen on it.${r.bestEpoch !== undefined ? ` Early stopping ${r.stoppedEarly ? 'stopped the run' : 'ran every epoch'}; the model holds epoch ${r.bestEpoch}'s weights (lowest validation loss).` : ''}</p>

<h2>Curves</h2>
<div class="charts">${lossChart}${accChart}</div>

<h2>Confusion matrix (test set)</h2>
<p class="muted">Rows: true class; columns: predicted class. Diagonal shaded by the row's accuracy (blue), errors by their count relative to the largest error cell (red).</p>
${confusionHeatmap(r.test)}

${r.filters ? filterGrid(r.filters) : ''}<h2>Misclassified test digits</h2>
${digitGrid(r.misclassified, r.data.imageShape, r.misclassifiedTotal, r.test.count)}

<h2>Per epoch</h2>
<table class="epochs">${epochHead}${epochRows}</table>
<p class="muted">Train loss and accuracy are running figures over each epoch's batches as they were trained${hasTest ? '; * test figures are for display only' : ''}${r.bestEpoch !== undefined ? '; * after the epoch number marks the kept (best validation) epoch' : ''}. ms: wall time of the epoch's training steps, evaluation excluded.</p>

<div class="cols">
<div><h2>Settings</h2>${kv(settingsRows)}</div>
<div><h2>Environment</h2>${kv([['simdnet', r.env.simdnet], ['node', r.env.node], ['backend', r.env.backend], ['CPU', `${r.env.cpu} (${r.env.cpus} logical CPUs; ${(r.env.threads ?? 1) > 1 ? `training on ${r.env.threads} threads` : 'training is single-threaded'})`], ['platform', r.env.platform], ['date', r.env.date]])}
<h2>Timings</h2>${kv([['training (all epochs)', fmtMs(r.timings.totalMs)], ['per epoch (median)', r.timings.epochMsMedian === null ? 'no whole epoch trained in this process' : fmtMs(r.timings.epochMsMedian)], ['final test evaluation', fmtMs(r.timings.evalMs)], ['model saved to', r.savedTo]])}</div>
</div>
<script type="application/json" id="simdnet-report-data">${json}</script>
</body></html>
`;
}
