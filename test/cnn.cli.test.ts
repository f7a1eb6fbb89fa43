/**
 * `simdnet train --layers` in child processes, on a small CNN over the first 2,000 MNIST training and
 * 500 test images: the first line, --save, eval and predict on the file, --report's filters, bad
 * lists, checkpoints, SIGINT and --resume alone, divergence; the progress bar on a terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/format/format.js';
import { loadModel } from '../src/io/io.js';
import { loadMnist } from '../src/io/mnist.js';
import { filterImages } from '../src/report/html-report.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { CLI, interrupt, runCli } from './helpers/cli-process.js';
import { writeMnistSlice } from './helpers/mnist-slice.js';
import { sameBits } from './helpers/bits.js';

const tmp = tempDir('simdnet-cnn-cli-');
const data = writeMnistSlice(tmp, 'mnist', 2000, 500);
const small = writeMnistSlice(tmp, 'mnist-small', 500, 200);
afterAll(() => tmp.remove());

const LAYERS = 'conv3x3x8:relu,maxpool2,batchnorm,conv3x3x8:s2:same:relu,flatten,dropout0.25,dense10';
const PARAMS = 4610;
const base = ['train', '--data', data, '--layers', LAYERS, '--optimizer', 'adam', '--lr', '0.003', '--batch-size', '32', '--seed', '2'];

const run = (args: string[]) => runCli(args);
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);
const tensorsOf = (path: string) => decodeModel(readFileSync(path), path).tensors;
const sameTensors = (a: Record<string, Float32Array>, b: Record<string, Float32Array>) =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => b[k] !== undefined && sameBits(a[k], b[k]));

describe('simdnet train --layers: a CNN on 2,000 MNIST images', () => {
  it('trains it, names it on the first line, saves a file that eval and predict read with the same test accuracy, and draws its first convolution in the report', async () => {
    const model = join(tmp.dir, 'cnn.simdnet'), report = join(tmp.dir, 'cnn.html');
    const text = run([...base, '--epochs', '1']);
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    // parameters: conv 3*3*1*8 + 8, batchnorm 2*8, conv 3*3*8*8 + 8, dense (7*7*8)*10 + 10
    expect(PARAMS).toBe(80 + 16 + 584 + 3930);
    expect(text.out.split('\n')[0]).toMatch(new RegExp(`^simdnet: input 28x28, ${LAYERS} \\(4,610 parameters\\), softmax \\+ cross-entropy, adam lr 0\\.003, batch 32, 1 epochs, seed 2, backend \\S+$`));
    const r = run([...base, '--epochs', '2', '--json', '--save', model, '--report', report]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const done = lastJson(r.out);
    expect(done.testAccuracy).toBeGreaterThan(0.8); // far above chance (10%): it learnt
    // eval reads the file, with any batch size, and finds the same test accuracy
    for (const b of ['256', '7']) {
      const e = run(['eval', '--model', model, '--data', data, '--batch-size', b, '--json']);
      expect(e.err).toBe('');
      expect(JSON.parse(e.out).accuracy).toBe(done.testAccuracy);
    }
    // the library's predict on the file: the same classes
    const { model: m } = await loadModel(model);
    const test = loadMnist(data).test;
    const classes = m.predictClasses(test.images, test.count);
    expect(classes.filter((c, i) => c === test.labels[i]).length / test.count).toBe(done.testAccuracy);
    // the report: the first convolution's 8 filters, each a 3x3 PNG of the file's weights (HWIO, one channel)
    const html = readFileSync(report, 'utf8');
    expect(html).toContain("<h2>First convolution's filters</h2>");
    expect(html).toContain('Layer 1, 3x3 over 1 input channel: its 8 filters');
    const imgs = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)" width="48" height="48" alt="filter (\d+)"/g)];
    expect(imgs.map((x) => Number(x[2]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const W = tensorsOf(model)['layers.0.W'];
    const want = filterImages({ layer: 1, kernel: [3, 3], channels: 1, filters: 8, W });
    imgs.forEach((x, k) => {
      const png = Buffer.from(x[1], 'base64');
      const idat = png.subarray(png.indexOf('IDAT') + 4, png.length - 16); // the one IDAT chunk's data (IEND and the CRCs after it)
      const rows = inflateSync(idat);
      const px = [0, 1, 2].flatMap((y) => [...rows.subarray(y * 4 + 1, y * 4 + 4)]); // each row: filter byte, 3 pixels
      expect(px).toEqual([...want[k]]);
    });
    // the largest weight in absolute value is white or black
    expect(want.some((px) => px.some((v) => v === 0 || v === 255))).toBe(true);
    expect(html).toContain(`<td>${LAYERS}</td>`);
  }, 60_000);

  it('an MLP report has no filters section', () => {
    const report = join(tmp.dir, 'mlp.html');
    const r = run(['train', '--data', small, '--hidden', '16', '--epochs', '1', '--json', '--report', report]);
    expect(r.code).toBe(0);
    const html = readFileSync(report, 'utf8');
    expect(html).not.toContain('filters');
    expect((html.match(/<img /g) ?? []).length).toBe((html.match(/<figure class="digit">/g) ?? []).length);
  }, 60_000);

  it('a bad list is one line and exit 2 before training: a bad token, --hidden beside it, a list that does not chain, an output that is not the classes', () => {
    const cases: [string[], RegExp][] = [
      [['--layers', 'conv3x3x8:relu,maxpool,dense'], /^simdnet: --layers: layer 3 'dense': give the units: dense<N>; e\.g\. dense128:relu, dense10\n$/],
      [['--layers', 'conv3x3x8,dense10', '--dropout', '0.2'], /^simdnet: --layers and --dropout do not combine: --layers lists the whole network; /],
      [['--layers', 'flatten,conv3x3x8,dense10'], /^simdnet: --layers: layer 2 \(conv2d\) needs an image input .* \(the input: 28x28 images from .*mnist-small\)\n$/],
      [['--layers', 'conv3x3x8,maxpool32,dense10'], /^simdnet: --layers: layer 2 \(maxpool2d\): a 32x32 window does not fit its \[26x26x8\] input/],
      [['--layers', 'conv3x3x8,flatten,dense12'], /^simdnet: --layers: the last layer \(dense12\) gives 12 outputs, but the data in .*mnist-small has 10 classes: end the list with dense10\n$/],
      [['--layers', 'conv3x3x8,globalavgpool'], /^simdnet: --layers: the last layer \(globalavgpool\) gives 8 outputs, but the data in .*mnist-small has 10 classes/],
    ];
    for (const [flags, re] of cases) {
      const r = run(['train', '--data', small, '--epochs', '1', '--json', ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.out).toBe('');
    }
    // an all-convolutional net whose last layer is no dense: 10 channels averaged are the 10 outputs
    const ok = run(['train', '--data', small, '--epochs', '1', '--json', '--layers', 'conv3x3x10,globalavgpool']);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
  }, 60_000);

  it('SIGINT writes a checkpoint and exits 130; --resume alone ends bit-identical to an uninterrupted run (weights and running statistics); contradicting network flags are one line', async () => {
    const flags = ['--data', small, '--layers', LAYERS, '--optimizer', 'adam', '--lr', '0.003', '--batch-size', '25', '--seed', '4', '--epochs', '8', '--json'];
    const full = join(tmp.dir, 'full.simdnet');
    const r0 = run(['train', ...flags, '--save', full]);
    expect(r0.err).toBe('');
    const ckpt = join(tmp.dir, 'run.ckpt');
    const r1 = await interrupt(['train', ...flags, '--checkpoint', ckpt, '--checkpoint-every', '3'], 'SIGINT');
    expect(r1.code).toBe(130);
    expect(r1.err).toMatch(/^simdnet: SIGINT: training interrupted in epoch \d+ after batch \d+; checkpoint written to .*run\.ckpt; continue with --resume .*run\.ckpt\n$/);
    const resumed = join(tmp.dir, 'resumed.simdnet');
    const r2 = run(['train', '--resume', ckpt, '--json', '--save', resumed]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    expect(lastJson(r2.out).done).toBe(true);
    const a = tensorsOf(resumed), b = tensorsOf(full);
    expect(Object.keys(a)).toContain('layers.2.variance');
    expect(sameTensors(a, b)).toBe(true);
    // the text output of the resumed run names the network it continues
    const r3 = run(['train', '--resume', ckpt, '--epochs', '8']);
    expect(r3.out.split('\n')[0]).toMatch(new RegExp(`^simdnet: input 28x28, ${LAYERS} \\(4,610 parameters\\)`));
    const cases: [string[], RegExp][] = [
      [['--hidden', '64'], /^simdnet: --hidden contradicts .*run\.ckpt, whose run has --layers conv3x3x8:relu,maxpool2,batchnorm,conv3x3x8:s2:same:relu,flatten,dropout0\.25,dense10; drop --hidden to continue that run, or start a new run without --resume\n$/],
      [['--layers', 'conv3x3x8:relu,flatten,dense10'], /^simdnet: --layers conv3x3x8:relu,flatten,dense10 contradicts .*run\.ckpt, whose run has --layers conv3x3x8:relu,maxpool2,.*; drop --layers to continue that run/],
      [['--preset', 'fast'], /^simdnet: --preset fast sets --lr 0\.001, which contradicts .*run\.ckpt, whose run has --lr 0\.003; drop --preset/],
    ];
    for (const [extra, re] of cases) {
      const r = run(['train', '--resume', ckpt, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
    }
    // the same list, written with its defaults, is the same network: it continues
    const same = run(['train', '--resume', ckpt, '--layers', LAYERS.replace('maxpool2', 'maxpool2:s2:valid'), '--json']);
    expect(same.err).toBe('');
    expect(same.code).toBe(0);
  }, 120_000);

  it('an MLP checkpoint refuses --layers in one line naming its --hidden', () => {
    const ckpt = join(tmp.dir, 'mlp.ckpt');
    expect(run(['train', '--data', small, '--hidden', '16', '--epochs', '1', '--json', '--checkpoint', ckpt]).code).toBe(0);
    const r = run(['train', '--resume', ckpt, '--layers', 'dense16:sigmoid,dense10', '--epochs', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: --layers dense16:sigmoid,dense10 contradicts .*mlp\.ckpt, whose run has no --layers \(an MLP: --hidden 16\); drop --layers/);
  }, 60_000);

  it('divergence exits 3 in one line, and --save keeps weights whose outputs are finite (eval reads the file)', () => {
    const saved = join(tmp.dir, 'diverged.simdnet');
    const r = run(['train', '--data', small, '--layers', 'conv3x3x4:relu,maxpool2,batchnorm,flatten,dense10', '--optimizer', 'sgd', '--lr', '1e30', '--weight-decay', '1e10', '--epochs', '2', '--save', saved, '--json']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^simdnet: training diverged in epoch 1, batch 1: .*; the last weights with finite outputs are .*; saved them to .*diverged\.simdnet\n$/);
    expect(existsSync(saved)).toBe(true);
    const e = run(['eval', '--model', saved, '--data', small, '--json']);
    expect(e.err).toBe('');
    expect(e.code).toBe(0);
    expect(Number.isFinite(JSON.parse(e.out).loss)).toBe(true);
  }, 60_000);
});

// `script` (util-linux) gives the child a pseudo-terminal, so stderr is a TTY and the bar is drawn
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

describe('simdnet train --layers on a terminal', () => {
  it.skipIf(!hasScript)('draws the progress bar within each epoch of a CNN run, and during its evaluation of the test set', () => {
    const cmd = [process.execPath, CLI, 'train', '--data', data, '--layers', 'conv3x3x32:relu,maxpool2,conv3x3x64:relu,maxpool2,flatten,dense10', '--optimizer', 'adam', '--lr', '0.003', '--epochs', '1'].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const batches = [...r.stdout.matchAll(/epoch 1\/1 \[[^\]]*\] +\d+% \| batch (\d+)\/63 \| loss \d+\.\d{4}/g)].map((m) => Number(m[1]));
    // drawn part-way through the epoch, not only at its ends (the mnist_convnet's convolutions: a
    // few seconds an epoch here, so the bar's 10 redraws a second land inside it)
    expect(batches.some((b) => b > 0 && b < 63)).toBe(true);
    // the epoch's evaluation has a bar of its own (drawn when it starts, after the first batch of 32)
    expect(r.stdout).toMatch(/epoch 1\/1 \[[^\]]*\] +\d+% \| evaluating test (32|[\d,]+)\/500/);
    expect(r.stdout).toContain('Accuracy report');
  }, 60_000);
});
