import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { runCli } from './helpers/cli-process.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-cli-');
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 200, shape: [6, 5], classes: 4 });
const dataGz = writeSyntheticDir(tmp, 'gz', { train: 300, test: 100, shape: [4, 4], classes: 3, gzip: true });
const sparse = writeSyntheticDir(tmp, 'sparse', { train: 400, test: 100, shape: [8, 8], classes: 4, sparse: true });
afterAll(() => tmp.remove());

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...process.env, ...env } });

describe('simdnet CLI', () => {
  it('is built (npm test builds it first)', () => expect(existsSync(CLI)).toBe(true));

  it('--help after a command (simdnet train --help) prints the usage, as simdnet --help does', () => {
    const top = run(['--help']);
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^simdnet: train neural networks/);
    for (const args of [['train', '--help'], ['eval', '-h'], ['export', '--format', 'onnx', '--help']]) {
      const r = run(args);
      expect(r.err, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toBe(top.out);
    }
  });

  it('train --json prints one JSON object per epoch, then a final one with done: true', () => {
    const r = run(['train', '--data', data, '--hidden', '16,8', '--activation', 'relu', '--epochs', '3', '--batch-size', '20', '--optimizer', 'adam', '--lr', '0.01', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(4);
    lines.slice(0, 3).forEach((l, i) => {
      expect(l.epoch).toBe(i + 1);
      for (const k of ['loss', 'trainAccuracy', 'testAccuracy', 'epochMs', 'samplesPerSec']) expect(typeof l[k], k).toBe('number');
      expect(l.trainAccuracy).toBeGreaterThanOrEqual(0);
      expect(l.testAccuracy).toBeLessThanOrEqual(1);
      expect(['wasm-simd', 'wasm-scalar', 'ts']).toContain(l.backend);
    });
    const done = lines[3];
    expect(done.done).toBe(true);
    expect(done.testAccuracy).toBeGreaterThan(0.9);
    expect(done.confusion.length).toBe(4);
  });

  it('train --threads 2 gives the results of one thread, says so, and refuses bad thread counts', () => {
    // the synthetic data is dense (the sparse kernels, which threads split, need <= 40% non-zero):
    // zero the dimmer pixels so training takes them
    const args = ['train', '--data', sparse, '--hidden', '12', '--epochs', '2', '--batch-size', '16', '--seed', '3', '--json'];
    const strip = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l)).map(({ epochMs, samplesPerSec, totalMs, epochMsMedian, threads, ...rest }) => rest);
    const one = run([...args, '--backend', 'wasm-simd']), two = run([...args, '--threads', '2']);
    expect(two.err).toBe('');
    expect(two.code).toBe(0);
    expect(strip(two.out)).toEqual(strip(one.out));
    expect(JSON.parse(two.out.trim().split('\n').pop()!).threads).toBe(2);
    const saved = join(tmp.dir, 'threads.simdnet');
    expect(run(['train', '--data', sparse, '--epochs', '1', '--threads', '2', '--save', saved]).out).toMatch(/backend wasm-simd \(2 threads\)/);
    const e1 = run(['eval', '--model', saved, '--data', sparse, '--backend', 'wasm-simd', '--json']), e2 = run(['eval', '--model', saved, '--data', sparse, '--threads', '2', '--json']);
    expect(e2.err).toBe('');
    expect(JSON.parse(e2.out)).toEqual(JSON.parse(e1.out));
    for (const [flags, msg] of [
      [['--threads', '0'], /--threads must be an integer in \[1, 64\], got '0'/],
      [['--threads', '65'], /--threads must be an integer in \[1, 64\], got '65'/],
      [['--threads', '2', '--backend', 'ts'], /threads: 2 needs the wasm-simd backend, not ts/],
    ] as [string[], RegExp][]) {
      const r = run(['train', '--data', sparse, '--epochs', '1', ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err.trim().split('\n').length, flags.join(' ')).toBe(1);
      expect(r.err).toMatch(msg);
    }
  });

  it('train --lr-schedule step --warmup logs the per-epoch rate', () => {
    const r = run(['train', '--data', data, '--hidden', '8', '--epochs', '3', '--batch-size', '50', '--lr', '0.4', '--lr-schedule', 'step', '--step-gamma', '0.5', '--warmup', '1', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rates = r.out.trim().split('\n').map((l) => JSON.parse(l)).slice(0, 3).map((l) => l.learningRate);
    expect(rates).toEqual([0.2, 0.4, 0.2]);
  });

  it('train --lr-schedule-per batch decays the rate within each epoch; epoch (the default) is the per-epoch schedule, bit for bit; the first line names it', () => {
    const args = ['train', '--data', data, '--hidden', '8', '--epochs', '2', '--batch-size', '50', '--lr', '0.4', '--lr-schedule', 'cosine', '--json'];
    const lines = (r: { out: string }) => r.out.trim().split('\n').map((l) => JSON.parse(l));
    const plain = run(args), epoch = run([...args, '--lr-schedule-per', 'epoch']), batch = run([...args, '--lr-schedule-per', 'batch']);
    for (const r of [plain, epoch, batch]) expect(r.code, r.err).toBe(0);
    expect(lines(epoch)[1].loss).toBe(lines(plain)[1].loss);
    // the same first-batch rates, but per batch the rate falls within epoch 1: another loss
    expect(lines(batch).slice(0, 2).map((l) => l.learningRate)).toEqual(lines(plain).slice(0, 2).map((l) => l.learningRate));
    expect(lines(batch)[0].loss).not.toBe(lines(plain)[0].loss);
    const text = run([...args.filter((a) => a !== '--json'), '--lr-schedule-per', 'batch']);
    expect(text.out.split('\n')[0]).toMatch(/, cosine schedule per batch, /);
    expect(run(args.filter((a) => a !== '--json')).out.split('\n')[0]).toMatch(/, cosine schedule per epoch, /);
  });

  it('train --validation-split reports validation figures each epoch, the same on rerun', () => {
    const args = ['train', '--data', data, '--hidden', '8', '--epochs', '2', '--batch-size', '50', '--validation-split', '0.25', '--json'];
    const a = run(args), b = run(args);
    expect(a.code).toBe(0);
    const ea = a.out.trim().split('\n').map((l) => JSON.parse(l)).slice(0, 2);
    const eb = b.out.trim().split('\n').map((l) => JSON.parse(l)).slice(0, 2);
    for (const l of ea) expect(typeof l.valAccuracy).toBe('number');
    expect(ea.map((l) => l.valLoss)).toEqual(eb.map((l) => l.valLoss));
    expect(ea[0].samplesPerSec * ea[0].epochMs / 1000).toBeCloseTo(450, 0);
  });

  it('reads gzip-compressed data and any image size; save -> eval reproduces the accuracy', () => {
    const model = join(tmp.dir, 'gz.simdnet');
    const t = run(['train', '--data', dataGz, '--hidden', '8', '--epochs', '4', '--batch-size', '10', '--save', model, '--json', '--backend', 'wasm-scalar']);
    expect(t.code, t.err).toBe(0);
    const done = JSON.parse(t.out.trim().split('\n').pop()!);
    expect(done.backend).toBe('wasm-scalar');
    const e = run(['eval', '--model', model, '--data', dataGz, '--json', '--backend', 'ts']);
    expect(e.code, e.err).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.accuracy).toBeCloseTo(done.testAccuracy, 6);
    // without --backend, eval honours $SIMDNET_BACKEND as train does (it used to take auto regardless)
    const env = run(['eval', '--model', model, '--data', dataGz, '--json'], { SIMDNET_BACKEND: 'ts' });
    expect(env.code, env.err).toBe(0);
    expect(JSON.parse(env.out).backend).toBe('ts');
    expect(run(['eval', '--model', model, '--data', dataGz, '--json'], { SIMDNET_BACKEND: 'gpu' }).err).toMatch(/unknown backend 'gpu'/);
    const text = run(['eval', '--model', model, '--data', dataGz]);
    expect(text.out).toMatch(/confusion matrix/);
  });

  it('prints the per-epoch lines and an accuracy report without --json', () => {
    const r = run(['train', '--data', data, '--epochs', '2', '--backend', 'ts']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/epoch 1\/2 {2}loss \d\.\d{4} {2}train \d+\.\d\d% {2}test \d+\.\d\d% {2}\d+ ms {2}[\d,]+ samples\/s {2}ts/);
    expect(r.out).toMatch(/Accuracy report: the 200 test images/);
  });

  const bad: [string, string[], RegExp][] = [
    ['negative learning rate', ['train', '--lr', '-0.1'], /--lr must be a positive number/],
    ['zero hidden units', ['train', '--hidden', '0'], /--hidden: layer sizes must be integers in \[1, 1048576\], got '0'/],
    ['hexadecimal hidden units (Number() reads 0x10 as 16)', ['train', '--hidden', '0x10'], /--hidden: layer sizes must be integers in \[1, 1048576\], got '0x10'/],
    ['an epoch count in exponent form', ['train', '--epochs', '1e300'], /--epochs must be an integer in \[1, 1000000\], got '1e300'/],
    ['a hexadecimal learning rate', ['train', '--lr', '0x10'], /--lr must be a number, got '0x10'/],
    ['a learning rate that is 0 in float32', ['train', '--lr', '1e-320'], /^simdnet: learning rate \(--lr\) 1e-320 is 0 in float32, the precision the kernels train in, so nothing would train/],
    ['a warm-up longer than the run', ['train', '--warmup', '1000000000'], /--warmup must be an integer in \[0, 1000000\], got '1000000000'/],
    ['a warm-up as long as the run', ['train', '--warmup', '5', '--epochs', '5'], /^simdnet: a warm-up \(--warmup\) of 5 epochs is not shorter than the run's 5 epochs: the learning rate would never reach 0\.1; give fewer warm-up epochs\n$/],
    ['a class count out of range', ['train', '--classes', '300'], /--classes must be an integer in \[2, 256\], got '300'/],
    ['unknown activation', ['train', '--activation', 'swish'], /--activation: unknown value 'swish'/],
    ['unknown flag', ['train', '--learning-rate', '0.1'], /Unknown option '--learning-rate'/],
    ['a flag whose value is missing before the next flag', ['train', '--lr', '--json'], /^simdnet: --lr is missing its value \(the next argument starts with '-'\); give one, or write --lr=VALUE/],
    ['--save followed by a flag', ['train', '--save', '--json'], /--save is missing its value/],
    ['bad number', ['train', '--epochs', 'ten'], /--epochs must be an integer in \[1, 1000000\], got 'ten'/],
    ['a hexadecimal number (Number() reads 0x10 as 16)', ['train', '--epochs', '0x10'], /--epochs must be an integer in \[1, 1000000\], got '0x10'/],
    ['fractional batch', ['train', '--batch-size', '2.5'], /--batch-size must be an integer in \[1, 16777216\], got '2\.5'/],
    ['unknown preset', ['train', '--preset', 'nope'], /unknown preset 'nope'/],
    ['a preset named after an Object property', ['train', '--preset', '__proto__'], /unknown preset '__proto__'/],
    ['a preset named constructor, with --augment', ['train', '--preset', 'constructor', '--augment'], /unknown preset 'constructor'/],
    ['unknown backend', ['train', '--backend', 'gpu'], /--backend: unknown value 'gpu'/],
    ['unknown schedule', ['train', '--lr-schedule', 'exp'], /--lr-schedule: unknown value 'exp'/],
    ['unknown schedule unit', ['train', '--lr-schedule-per', 'week'], /--lr-schedule-per: unknown value 'week'; use one of epoch, batch/],
    ['step gamma above 1', ['train', '--step-gamma', '1.5'], /--step-gamma must be in \(0, 1\]/],
    ['negative warm-up', ['train', '--warmup', '-1'], /--warmup must be an integer in \[0, 1000000\], got '-1'/],
    ['validation split 1', ['train', '--validation-split', '1'], /--validation-split must be in \[0, 1\) \(0: no hold-out/],
    ['negative validation split', ['train', '--validation-split', '-0.1'], /--validation-split must be in \[0, 1\)/],
    ['unknown command', ['fly'], /unknown command 'fly'/],
    ['dropout out of range', ['train', '--dropout', '1.5'], /--dropout must be in \[0, 1\)/],
    ['augmentation rotation above 45 degrees', ['train', '--augment', '--augment-rotate', '90'], /augmentation rotation must be a number in \[0, 45\] \(--augment-rotate DEG\), got 90/],
    ['negative elastic alpha', ['train', '--augment', '--augment-elastic', '-3'], /augmentation elastic alpha must be a number in \[0, 1000\]/],
    ['augmentation sigma not a number', ['train', '--augment', '--augment-sigma', 'wide'], /--augment-sigma must be a number, got 'wide'/],
    ['an augmentation knob without --augment', ['train', '--augment-shift', '2'], /--augment-shift needs --augment/],
    ['early stopping without a validation split', ['train', '--early-stopping', '3'], /--early-stopping needs --validation-split/],
    ['missing data folder', ['train', '--data', '/nonexistent/mnist'], /\/nonexistent\/mnist/],
    ['eval without model', ['eval'], /eval needs --model FILE/],
    ['missing model', ['eval', '--model', '/nonexistent/m.simdnet'], /\/nonexistent\/m\.simdnet: model file not found/],
  ];
  for (const [name, args, re] of bad) {
    it(`${name}: one line on stderr, exit code 2`, () => {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('--augment trains (training batches only); a resume takes it from the checkpoint, and refuses other augmentation naming the flag', () => {
    const ck = join(tmp.dir, 'aug.ckpt');
    const r = run(['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--epochs', '1', '--augment', '--augment-elastic', '4', '--augment-sigma', '1', '--dropout', '0.1', '--checkpoint', ck, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim().split('\n').pop()!).testAccuracy).toBeGreaterThan(0);
    const other = run(['train', '--epochs', '2', '--augment-elastic', '5', '--resume', ck, '--json']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/^simdnet: --augment-elastic 5 contradicts .*aug\.ckpt, whose run has --augment-elastic 4; drop --augment-elastic to continue that run/);
    const again = run(['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--epochs', '2', '--dropout', '0.1', '--resume', ck, '--json']);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
  });

  it('a corrupt model file and a model that does not fit the data: exit 2, one line', () => {
    const junk = join(tmp.dir, 'junk.simdnet');
    writeFileSync(junk, 'not a model at all, just some text');
    const r = run(['eval', '--model', junk, '--data', data]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/junk\.simdnet: not a simdnet model file/);
    const model = join(tmp.dir, 'small.simdnet');
    expect(run(['train', '--data', dataGz, '--epochs', '1', '--save', model, '--json']).code).toBe(0);
    const m = run(['eval', '--model', model, '--data', data]);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/takes 16 inputs but the data .* has 30/);
  });

  it('an output that would overwrite another output, the checkpoint being resumed or the data is refused before training', () => {
    const f = (n: string) => join(tmp.dir, n);
    const trainImages = join(data, 'train-images-idx3-ubyte');
    const before = readFileSync(trainImages);
    const base = ['train', '--data', data, '--hidden', '8', '--epochs', '1', '--json'];
    const cases: [string[], RegExp][] = [
      [['--save', f('same.bin'), '--checkpoint', f('same.bin')], /--save .*same\.bin is also --checkpoint/],
      [['--save', f('same.bin'), '--report', join(tmp.dir, '.', 'same.bin')], /--save .*same\.bin is also --report/],
      [['--report', f('same.bin'), '--checkpoint', f('same.bin')], /--report .*same\.bin is also --checkpoint/],
      [['--save', trainImages], /--save .*train-images-idx3-ubyte is also the data file/],
      [['--checkpoint', join(data, 't10k-labels-idx1-ubyte')], /--checkpoint .* is also the data file/],
    ];
    for (const [extra, re] of cases) {
      const r = run([...base, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
      expect(r.out).toBe('');
    }
    expect(existsSync(f('same.bin'))).toBe(false);
    expect(readFileSync(trainImages).equals(before)).toBe(true);
    // --checkpoint may continue the checkpoint being resumed; --save may not overwrite it
    const ck = f('res.ckpt');
    expect(run([...base, '--checkpoint', ck]).code).toBe(0);
    const r = run([...base.slice(0, -3), '--epochs', '2', '--json', '--resume', ck, '--save', ck]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--save .*res\.ckpt is also the checkpoint --resume reads/);
    expect(run([...base.slice(0, -3), '--epochs', '2', '--json', '--resume', ck, '--checkpoint', ck]).code).toBe(0);
  });

  it('export and import refuse an --out that is the model they read', () => {
    const model = join(tmp.dir, 'own.simdnet');
    expect(run(['train', '--data', data, '--hidden', '8', '--epochs', '1', '--json', '--save', model]).code).toBe(0);
    const onnxNamed = join(tmp.dir, 'odd.onnx');
    copyFileSync(model, onnxNamed);
    const e = run(['export', '--format', 'onnx', '--model', onnxNamed, '--out', onnxNamed]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/--out .*odd\.onnx is also the model file being exported/);
    expect(readFileSync(onnxNamed).equals(readFileSync(model))).toBe(true);
    const dir = join(tmp.dir, 'tfjs-own');
    expect(run(['export', '--format', 'tfjs', '--model', model, '--out', dir]).code).toBe(0);
    const json = readFileSync(join(dir, 'model.json'));
    for (const out of ['model.json', 'weights.bin']) {
      const r = run(['import', '--format', 'tfjs', '--model', dir, '--out', join(dir, out)]);
      expect(r.code, out).toBe(2);
      expect(r.err).toMatch(/--out .* is also (the model\.json|a weights file of the model) being imported/);
    }
    expect(readFileSync(join(dir, 'model.json')).equals(json)).toBe(true);
    expect(run(['import', '--format', 'tfjs', '--model', dir, '--out', join(dir, 'back.simdnet')]).code).toBe(0);
    // an --out folder that is an existing file: one line saying so (it gave a bare EEXIST)
    const f = run(['export', '--format', 'tfjs', '--model', model, '--out', onnxNamed]);
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/cannot create the folder .*odd\.onnx: a file of that name is in the way; give --out a folder path/);
  });
});
