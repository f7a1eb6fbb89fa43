#!/usr/bin/env node
/**
 * The validation runs a preset is chosen by: train a preset's settings (with the changes given)
 * on the 54,000 images a seeded 10% split of the MNIST training set keeps, and print the
 * validation accuracy after every epoch and at the end, for each model seed. The split is the
 * same for every seed (split seed 1: the one `simdnet train --validation-split 0.1` holds out with
 * seed 1); the model seed sets the initial weights and the shuffling, dropout and augmentation
 * streams. The test set is never read. Needs `npm run build` first.
 *
 *   node scripts/select-preset.mjs best-cnn                          # the preset as it is, seeds 1 and 2
 *   node scripts/select-preset.mjs best-cnn --epochs 18 --label-smoothing 0 --seeds 1,2
 *   node scripts/select-preset.mjs cnn --layers conv3x3x32,batchnorm,relu,maxpool2,flatten,dense10
 *   node scripts/select-preset.mjs cnn --epochs 1 --images 512       # a smoke run: the first 512 images of each part
 *
 * Options: --epochs N, --label-smoothing E, --lr X, --batch-size N, --layers LIST (the `--layers`
 * syntax of docs/cli.md), --seeds LIST (default 1,2), --threads N (default 2; results are
 * bit-identical for every thread count), --images N (smoke runs only).
 * The rule the presets were chosen by (docs/cli.md, Presets): the highest validation accuracy at
 * the last epoch, averaged over the seeds, among candidates whose final run fits the time budget.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url);
function fail(msg) {
  process.stderr.write(`select-preset: ${msg}\nusage: node scripts/select-preset.mjs PRESET [--epochs N] [--label-smoothing E] [--lr X] [--batch-size N] [--layers LIST] [--seeds 1,2] [--threads N] [--images N]\n`);
  process.exit(2);
}
if (!existsSync(fileURLToPath(dist('index.js')))) fail('dist/ is missing: run npm run build first');

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      epochs: { type: 'string' }, 'label-smoothing': { type: 'string' }, lr: { type: 'string' }, 'batch-size': { type: 'string' },
      layers: { type: 'string' }, seeds: { type: 'string' }, threads: { type: 'string' }, images: { type: 'string' },
    },
  });
} catch (e) {
  fail(e.message);
}
const { values: o, positionals } = parsed;
const { Model, createBackend, loadMnist, PRESETS } = await import(dist('node.js').href);
const { splitValidation } = await import(dist('train/split.js').href);
const { parseLayers, formatLayers } = await import(dist('cli/layers-syntax.js').href);

if (positionals.length !== 1) fail('name one preset');
const name = positionals[0];
if (!Object.hasOwn(PRESETS, name)) fail(`no preset named '${name}'; have ${Object.keys(PRESETS).join(', ')}`);
const p = PRESETS[name].settings;
// the CLI's number rules (src/cli/numbers.ts: decimal only, integers in their flag's range), its messages
const { int, num } = await import(dist('cli/numbers.js').href);
const parse = (f) => {
  try { return f(); } catch (e) { return fail(e.message); }
};
const inRange = (flag, x, ok, range) => (x === undefined || ok(x) ? x : fail(`--${flag} must be in ${range}, got '${o[flag]}'`));
const epochs = parse(() => int('epochs', o.epochs)) ?? p.epochs;
const batchSize = parse(() => int('batch-size', o['batch-size'])) ?? p.batchSize;
const lr = inRange('lr', parse(() => num('lr', o.lr)), (x) => x > 0, '(0, Infinity)') ?? p.lr;
const labelSmoothing = inRange('label-smoothing', parse(() => num('label-smoothing', o['label-smoothing'])), (x) => x >= 0 && x < 1, '[0, 1)') ?? p.labelSmoothing ?? 0;
const threads = parse(() => int('threads', o.threads)) ?? 2;
const images = o.images === undefined ? undefined : /^\d+$/.test(o.images) && Number(o.images) >= 1 ? Number(o.images) : fail(`--images must be an integer >= 1, got '${o.images}'`);
const seeds = (o.seeds ?? '1,2').split(',').map((x) => parse(() => int('seed', x)));
let layers = p.layers;
if (o.layers !== undefined) {
  try { layers = parseLayers(o.layers); } catch (e) { fail(e.message); }
}
if (!layers) fail(`preset '${name}' is an MLP: this script selects layer-list presets`);

const data = loadMnist();
const split = splitValidation(data.train, 0.1, 1);
const first = (d) => (images === undefined ? d : { ...d, count: Math.min(images, d.count) });
const train = first(split.train), validation = first(split.validation);
const backend = await createBackend({ prefer: 'wasm-simd', threads });
const settings = `${formatLayers(layers)}; ${p.optimizer} lr ${lr}, batch ${batchSize}, ${epochs} epochs, ${p.schedule?.type ?? 'constant'} schedule${p.schedule?.perBatch ? ' per batch' : ''}, label smoothing ${labelSmoothing}, augment ${p.augment ? JSON.stringify(p.augment) : 'off'}`;
console.log(`${name}: ${settings}; ${train.count} training and ${validation.count} validation images (split seed 1), ${backend.name}${threads > 1 ? ` (${threads} threads)` : ''}`);

const finals = [];
for (const seed of seeds) {
  const model = new Model({ layers, inputShape: data.imageShape, loss: p.loss ?? 'ce', init: p.init ?? 'auto', seed }, backend);
  const history = await model.fit(train, {
    validationData: validation, epochs, batchSize, learningRate: lr, optimizer: p.optimizer, momentum: p.momentum,
    weightDecay: p.weightDecay ?? 0, labelSmoothing, schedule: p.schedule, augment: p.augment,
    callbacks: {
      onEpochEnd: (e, l) => console.log(`seed ${seed}  epoch ${e}/${epochs}  loss ${l.loss.toFixed(4)}  val ${(l.valAccuracy * 100).toFixed(2)}%  val loss ${l.valLoss.toFixed(4)}  ${(l.epochMs / 1000).toFixed(1)} s`),
    },
  });
  finals.push(history.epochs.at(-1).valAccuracy);
  model.dispose?.();
}
const mean = finals.reduce((a, b) => a + b, 0) / finals.length;
console.log(`last epoch's validation accuracy: ${finals.map((a, i) => `seed ${seeds[i]} ${(a * 100).toFixed(2)}%`).join(', ')}; mean ${(mean * 100).toFixed(3)}%`);
await backend.close?.();
