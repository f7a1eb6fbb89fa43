/** Presets carry more than the network and optimizer: dropout, schedule, validation split. Flags still override them. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/format/format.js';
import { PRESETS } from '../src/train/presets.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { runCli } from './helpers/cli-process.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-presets-');
const data = writeSyntheticDir(tmp, 'data', { train: 300, test: 100, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const run = (args: string[]) => runCli(args);

describe('preset best-mlp', () => {
  const p = PRESETS['best-mlp'].settings;

  it('is a plain MLP (dense layers only) with dropout, a schedule and a validation split of its own', () => {
    expect(p.hidden!.length).toBeGreaterThanOrEqual(1);
    expect(p.dropout).toBeGreaterThan(0);
    expect(p.validationSplit).toBe(0.1);
    expect(p.schedule?.type).toBe('cosine');
  });

  it('the CLI applies them (validation figures each epoch, dropout and schedule in the saved settings); flags override', () => {
    const path = join(tmp.dir, 'p.simdnet');
    // a small stand-in for the real run: same preset, tiny network and 2 epochs on synthetic data
    const r = run(['train', '--preset', 'best-mlp', '--data', data, '--hidden', '8', '--epochs', '2', '--json', '--save', path]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) expect(typeof l.valAccuracy).toBe('number');
    expect(lines[1].learningRate).toBeLessThan(lines[0].learningRate);
    const meta = decodeModel(readFileSync(path), path).meta as { settings: Record<string, unknown> };
    expect(meta.settings.dropout).toBe(p.dropout);
    expect(meta.settings.validationSplit).toBe(0.1);
    const r2 = run(['train', '--preset', 'best-mlp', '--data', data, '--hidden', '8', '--epochs', '1', '--dropout', '0', '--validation-split', '0.2', '--json', '--save', path]);
    expect(r2.code).toBe(0);
    const meta2 = decodeModel(readFileSync(path), path).meta as { settings: Record<string, unknown> };
    expect(meta2.settings.dropout).toBe(0);
    expect(meta2.settings.validationSplit).toBe(0.2);
    // --validation-split 0 turns the preset's hold-out off: no validation figures, every image trains
    const r3 = run(['train', '--preset', 'best-mlp', '--data', data, '--hidden', '8', '--epochs', '1', '--dropout', '0', '--validation-split', '0', '--json', '--save', path]);
    expect(r3.code).toBe(0);
    const meta3 = decodeModel(readFileSync(path), path).meta as { settings: Record<string, unknown> };
    expect(meta3.settings.validationSplit).toBeUndefined();
    expect(r3.out).not.toMatch(/valAccuracy/);
    expect(r2.out).toMatch(/valAccuracy/);
  });
});

describe('the defaults of simdnet train', () => {
  it('are the article preset: a bare run trains exactly what --preset article (npm start) trains', () => {
    const bare = run(['train', '--data', data, '--epochs', '2', '--json']);
    const article = run(['train', '--preset', 'article', '--data', data, '--epochs', '2', '--json']);
    expect(bare.err).toBe('');
    expect(bare.code).toBe(0);
    const result = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l)).map((l) => [l.epoch, l.loss, l.trainAccuracy, l.testAccuracy, l.learningRate]);
    expect(result(bare.out)).toEqual(result(article.out));
    const header = run(['train', '--data', data, '--epochs', '1']).out.split('\n')[0];
    expect(header).toMatch(/^simdnet: 30-64-4 sigmoid, softmax \+ cross-entropy, momentum lr 0\.1 momentum 0\.9, batch 32, 1 epochs, seed 1,/);
  });

  it('--help shows the default of every training setting, and they are the article preset', () => {
    const help = run(['--help']).out;
    const section = help.slice(help.indexOf('Train options'), help.indexOf('--save FILE'));
    // one entry per flag: its line and the indented lines that continue it
    const entries = section.split(/\n(?=  --)/).filter((e) => e.startsWith('  --'));
    expect(entries.length).toBeGreaterThan(20);
    for (const e of entries) expect(e, e).toMatch(/\(default/);
    const a = PRESETS.article.settings;
    const shown = (flag: string) => new RegExp(`\\n  --${flag} [^\\n]*(\\n {10,}[^\\n]*)*\\(default ([^)]*)\\)`).exec(help)?.[2];
    expect(shown('hidden')).toBe(a.hidden!.join(',') + '');
    expect(shown('activation')).toBe(a.activation);
    expect(shown('optimizer')).toBe(a.optimizer);
    expect(shown('lr')).toBe(String(a.lr));
    expect(shown('momentum')).toBe(String(a.momentum));
    expect(shown('batch-size')).toBe(String(a.batchSize));
    expect(shown('epochs')).toBe(String(a.epochs));
  });
});

describe('presets cnn and best-cnn', () => {
  // 28x28 synthetic images: the presets' convolutions and pools chain on them as on MNIST
  const images = writeSyntheticDir(tmp, 'images', { train: 160, test: 40, shape: [28, 28], classes: 10 });

  const kinds = (l: unknown) => (l as { type: string }[]).map((x) => x.type);

  it('are CNN layer lists with batch norm, Adam and a per-batch cosine schedule; cnn in 2 epochs on every image, best-cnn deeper and augmented, on every image', () => {
    const cnn = PRESETS.cnn.settings, best = PRESETS['best-cnn'].settings;
    for (const p of [cnn, best]) {
      expect(p).toMatchObject({ optimizer: 'adam', loss: 'ce', schedule: { type: 'cosine', perBatch: true } });
      expect(kinds(p.layers)).toContain('conv2d');
      expect(kinds(p.layers)).toContain('batchnorm');
    }
    expect(cnn.epochs).toBe(2);
    expect(cnn.validationSplit).toBeUndefined();
    expect(cnn.augment).toBeUndefined();
    // best-cnn: two convolutions per stage, then dense 256 + batch norm + ReLU + dropout, dense 10;
    // chosen on a 10% validation split, then trained on all 60,000 images (no hold-out)
    expect(kinds(best.layers)).toEqual([
      'conv2d', 'batchnorm', 'activation', 'conv2d', 'batchnorm', 'activation', 'maxpool2d',
      'conv2d', 'batchnorm', 'activation', 'conv2d', 'batchnorm', 'activation', 'maxpool2d',
      'flatten', 'dense', 'batchnorm', 'activation', 'dropout', 'dense',
    ]);
    expect((best.layers as { type: string; filters?: number }[]).filter((l) => l.type === 'conv2d').map((l) => l.filters)).toEqual([32, 32, 64, 64]);
    expect(best.epochs).toBe(18);
    expect(best.labelSmoothing).toBe(0.1);
    expect(cnn.labelSmoothing).toBeUndefined();
    expect(best.validationSplit).toBeUndefined();
    expect(best.augment).toEqual({ shift: 2, rotate: 8, scale: 0.08, elastic: 30, sigma: 5 });
  });

  for (const name of ['cnn', 'best-cnn']) {
    it(`--preset ${name} trains its CNN through the CLI (1 epoch on 160 images; the saved model holds the preset's layers)`, () => {
      const path = join(tmp.dir, `${name}.simdnet`);
      const r = run(['train', '--preset', name, '--data', images, '--epochs', '1', '--json', '--save', path]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
      expect(Number.isFinite(lines[0].loss)).toBe(true);
      expect(lines[0].valAccuracy).toBeUndefined(); // both train on every image
      // the CLI resolved the preset to its settings (the saved ones), flags over them (--epochs 1)
      const p = PRESETS[name].settings;
      const settings = (decodeModel(readFileSync(path), path).meta as { settings: Record<string, unknown> }).settings;
      expect(kinds(settings.layers)).toEqual(kinds(p.layers));
      expect(settings).toMatchObject({ optimizer: p.optimizer, lr: p.lr, batchSize: p.batchSize, epochs: 1, schedule: { type: 'cosine', perBatch: true } });
      expect(settings.validationSplit).toBe(p.validationSplit);
      expect(settings.labelSmoothing ?? 0).toBe(p.labelSmoothing ?? 0);
      if (p.augment) expect(settings.augment).toEqual(p.augment);
      else expect(settings.augment).toBeUndefined();
    });
  }

  it('--preset best-cnn --validation-split 0.1 holds 10% out and reports its validation accuracy (the split its description\'s figure was measured on)', () => {
    const r = run(['train', '--preset', 'best-cnn', '--data', images, '--epochs', '1', '--validation-split', '0.1', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(typeof lines[0].valAccuracy).toBe('number');
  });
});

describe('scripts/select-preset.mjs: the validation runs a preset is chosen by', () => {
  const script = (args: string[]) => {
    const r = spawnSync(process.execPath, ['scripts/select-preset.mjs', ...args], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('trains a preset with the changes given on the seeded split, per seed, and prints the validation accuracies and their mean (never a test figure)', () => {
    const r = script(['cnn', '--epochs', '1', '--images', '256', '--seeds', '1,2', '--label-smoothing', '0.1', '--threads', '1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^cnn: conv3x3x32,batchnorm,relu,.*dense10; adam lr 0\.003, batch 64, 1 epochs, cosine schedule per batch, label smoothing 0\.1, augment off; 256 training and 256 validation images \(split seed 1\), wasm-simd$/);
    expect(lines.filter((l) => /^seed [12] {2}epoch 1\/1 .* val \d+\.\d\d% /.test(l)).length).toBe(2);
    const last = lines.at(-1)!.match(/^last epoch's validation accuracy: seed 1 (\d+\.\d\d)%, seed 2 (\d+\.\d\d)%; mean (\d+\.\d{3})%$/);
    expect(last).not.toBeNull();
    expect(Number(last![3])).toBeCloseTo((Number(last![1]) + Number(last![2])) / 2, 2);
    expect(r.out).not.toMatch(/test/i);
  }, 120_000);

  it('a bad preset, flag or value is one line and exit 2', () => {
    for (const [args, msg] of [
      [['nope'], /^select-preset: no preset named 'nope'; have /],
      [['best-mlp'], /^select-preset: preset 'best-mlp' is an MLP/],
      [['cnn', '--epochs', '0'], /^select-preset: --epochs must be an integer in \[1, 1000000\], got '0'/],
      [['cnn', '--label-smoothing', '1'], /^select-preset: --label-smoothing must be in \[0, 1\), got '1'/],
      [['cnn', '--lr', '0x10'], /^select-preset: --lr must be a number, got '0x10'/],
      [['cnn', '--layers', 'conv3x3x32,bogus'], /^select-preset: .*bogus/],
      [['cnn', '--frobnicate'], /^select-preset: Unknown option '--frobnicate'/],
    ] as [string[], RegExp][]) {
      const r = script(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err.trim().split('\n').length, args.join(' ')).toBe(2); // the message and the usage line
    }
  });
});
