/**
 * One shape rule for train and eval (issue 23 item 9; src/nn/image-shape.ts): shapes agree when equal,
 * or when one is flat with as many values; 6x5 against 3x10 or 6x5x1 is refused everywhere.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/train/model.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { shapesAgree } from '../src/nn/image-shape.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { synthetic, writeSyntheticDir } from './helpers/synthetic.js';
import { runCli } from './helpers/cli-process.js';

const tmp = tempDir('simdnet-shapes-');
afterAll(() => tmp.remove());

const run = (args: string[]) => runCli(args, { timeout: 60_000 });

/** a data folder whose training images have shape `train` and test images shape `test` */
function mixed(name: string, train: number[], test: number[]): string {
  const a = writeSyntheticDir(tmp, `${name}-a`, { train: 200, test: 50, shape: train, classes: 3 });
  const b = writeSyntheticDir(tmp, `${name}-b`, { train: 200, test: 50, shape: test, classes: 3 });
  for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(join(b, f), join(a, f));
  return a;
}

describe('image shapes: one rule', () => {
  it('the rule', () => {
    expect(shapesAgree([28, 28], [28, 28])).toBe(true);
    expect(shapesAgree([28, 28], [784])).toBe(true);
    expect(shapesAgree([784], [28, 28])).toBe(true);
    expect(shapesAgree([28, 28], [14, 56])).toBe(false);
    expect(shapesAgree([28, 28, 1], [28, 28])).toBe(false);
    expect(shapesAgree([784], [785])).toBe(false);
  });

  it('eval refuses data of another shape with the same pixel count (3x10 for a 6x5 model); flat data is accepted', () => {
    const d65 = writeSyntheticDir(tmp, 'd65', { train: 200, test: 50, shape: [6, 5], classes: 3 });
    const model = join(tmp.dir, 'm65.simdnet');
    expect(run(['train', '--data', d65, '--epochs', '1', '--hidden', '4', '--save', model, '--json']).code).toBe(0);
    const d310 = writeSyntheticDir(tmp, 'd310', { train: 200, test: 50, shape: [3, 10], classes: 3 });
    const r = run(['eval', '--model', model, '--data', d310]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`simdnet: test data in ${d310}: images are 3x10 but the model takes 6x5 images (30 values); give images of that shape (or flat rows of 30 values)\n`);
    const d651 = writeSyntheticDir(tmp, 'd651', { train: 200, test: 50, shape: [6, 5, 1], classes: 3 });
    expect(run(['eval', '--model', model, '--data', d651]).err).toMatch(/images are 6x5x1 but the model takes 6x5 images/);
    const flat = writeSyntheticDir(tmp, 'flat', { train: 200, test: 50, shape: [30], classes: 3 });
    expect(run(['eval', '--model', model, '--data', flat, '--json']).code).toBe(0);
  }, 60_000);

  it('train applies the same rule to the test images against the training images', () => {
    const r = run(['train', '--data', mixed('x1', [6, 5], [6, 5, 1]), '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/t10k-images-idx3-ubyte: test images are 6x5x1 \(30 features\) but training images are 6x5 \(30\); both splits must come from the same dataset/);
    expect(run(['train', '--data', mixed('x2', [6, 5], [3, 10]), '--epochs', '1']).code).toBe(2);
    expect(run(['train', '--data', mixed('x3', [6, 5], [30]), '--epochs', '1', '--json']).code).toBe(0);
  }, 60_000);

  it('library: fit() and evaluate() refuse a DataSet whose imageShape disagrees with the model', async () => {
    const m = new Model({ layers: [30, 4, 3], imageShape: [6, 5], seed: 1 }, new TsBackend());
    const ds = { ...synthetic(40, 30, 3, 1), imageShape: [3, 10] };
    await expect(m.fit(ds, { epochs: 1 })).rejects.toThrow(/^training data: images are 3x10 but the model takes 6x5 images \(30 values\)/);
    expect(() => m.evaluate(ds)).toThrow(/images are 3x10 but the model takes 6x5/);
    await m.fit({ ...ds, imageShape: [30] }, { epochs: 1 });
  });
});
