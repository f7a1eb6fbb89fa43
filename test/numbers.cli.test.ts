/**
 * The CLI's numbers (issue 23 item 13) and class counts (issue 20 item 2), in child processes: one
 * parser for number flags, a batch larger than the data and more threads than CPUs adjusted with a
 * note, learning rates and warm-ups that would train nothing refused, a corrupt label refused,
 * --classes to accept a class range with empty classes.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { readModelFile } from '../src/io/io.js';
import { describeNetwork } from '../src/nn/layers.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { runCli } from './helpers/cli-process.js';

const tmp = tempDir('simdnet-numbers-');
const data = writeSyntheticDir(tmp, 'data', { train: 300, test: 60, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const run = (args: string[]) => runCli(args);
const base = ['train', '--data', data, '--hidden', '8', '--epochs', '1', '--json'];

describe('number flags: one parser, one rule', () => {
  it('a batch larger than the data is the whole set, with a note (not refused for the memory of a 10-million batch)', () => {
    const r = run([...base, '--batch-size', '10000000']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('simdnet: note: --batch-size 10000000 is more than the 300 training images; using 300 (one batch per epoch)\n');
    // the same steps as a batch of exactly the data
    const same = run([...base, '--batch-size', '300']);
    const strip = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l)).map(({ epochMs, samplesPerSec, totalMs, epochMsMedian, ...rest }) => rest);
    expect(strip(r.out)).toEqual(strip(same.out));
    // eval too: a batch beyond the test set is the test set
    const model = join(tmp.dir, 'm.simdnet');
    expect(run([...base, '--save', model]).code).toBe(0);
    const e = run(['eval', '--model', model, '--data', data, '--batch-size', '10000000', '--json']);
    expect(e.err).toBe('');
    expect(e.code).toBe(0);
  }, 60_000);

  it('more threads than CPUs are capped to the CPUs with a note; the results are the same', () => {
    const cpus = availableParallelism();
    const r = run([...base, '--threads', '64']);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`simdnet: note: --threads 64 is more than the ${cpus} CPUs of this machine; using ${cpus} (results are identical for any thread count)\n`);
    expect(JSON.parse(r.out.trim().split('\n').pop()!).threads).toBe(cpus);
  }, 60_000);

  it('a learning rate below 1e-8 trains with a note; one that is 0 in float32 is refused before the data is read', () => {
    const r = run([...base, '--lr', '1e-12']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^simdnet: note: --lr 1e-12 is below 1e-8: updates that small mostly round away in float32 .*so the run will barely train\n$/);
    const z = run(['train', '--data', '/nonexistent', '--lr', '1e-320']);
    expect(z.code).toBe(2);
    expect(z.err).toMatch(/^simdnet: learning rate \(--lr\) 1e-320 is 0 in float32/);
  }, 60_000);
});

describe('class counts (issue 20 item 2)', () => {
  it('a corrupt training label (200) is refused naming the file, index, value and --classes; --classes accepts it', () => {
    const bad = writeSyntheticDir(tmp, 'corrupt', { train: 300, test: 60, shape: [6, 5], classes: 4 });
    const lf = join(bad, 'train-labels-idx1-ubyte');
    const labels = new Uint8Array(readFileSync(lf).subarray(8));
    labels[123] = 200;
    writeFileSync(lf, encodeIdx('u8', [300], labels));
    const r = run(['train', '--data', bad, '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`simdnet: ${lf}: label 200 at index 123 makes 201 classes (0..200) but only 5 of them have a training example (class 4 has none): a corrupt label? If the data really has 201 classes, give --classes 201\n`);
    const saved = join(tmp.dir, 'c201.simdnet');
    const ok = run(['train', '--data', bad, '--epochs', '1', '--hidden', '8', '--classes', '201', '--save', saved, '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(describeNetwork(readModelFile(saved).description)).toBe('30-8-201');
  }, 60_000);

  it('--classes fixes the output width for a training set that lacks a class; test labels beyond the range are refused the same way', () => {
    // labels 0..3 in the data: --classes 6 gives 6 outputs, and eval of that model accepts the data
    const saved = join(tmp.dir, 'c6.simdnet');
    const r = run([...base, '--classes', '6', '--save', saved]);
    expect(r.code, r.err).toBe(0);
    expect(describeNetwork(readModelFile(saved).description)).toBe('30-8-6');
    expect(run(['eval', '--model', saved, '--data', data, '--json']).code).toBe(0);
    const narrow = run([...base, '--classes', '3']);
    expect(narrow.code).toBe(2);
    expect(narrow.err).toMatch(/train-labels-idx1-ubyte: label 3 at index \d+ is out of range for 3 classes \(0\.\.2, from --classes\)\n$/);
    const t = writeSyntheticDir(tmp, 'testlabel', { train: 300, test: 60, shape: [6, 5], classes: 4 });
    const tf = join(t, 't10k-labels-idx1-ubyte');
    const tl = new Uint8Array(readFileSync(tf).subarray(8));
    tl[17] = 9;
    writeFileSync(tf, encodeIdx('u8', [60], tl));
    const e = run(['train', '--data', t, '--epochs', '1']);
    expect(e.code).toBe(2);
    expect(e.err).toBe(`simdnet: ${tf}: label 9 at index 17 is outside the classes 0..3 of the training labels (4 classes with training examples): a corrupt label? If the data really has 10 classes, give --classes 10\n`);
  }, 60_000);
});
