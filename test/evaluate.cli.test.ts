/**
 * simdnet train and the per-epoch evaluations, in child processes: the accuracy report reuses the
 * last epoch's test evaluation (no second pass over the test set); a SIGINT during an epoch's
 * evaluation stops there with a checkpoint, as one during training does.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/format/format.js';
import { sameBits } from './helpers/bits.js';
import { CLI, interrupt } from './helpers/cli-process.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';

const tmp = tempDir('simdnet-evaluate-cli-');
const data = writeSyntheticDir(tmp, 'data', { train: 300, test: 150, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());
const COUNT = new URL('./helpers/count-evaluate.mjs', import.meta.url).pathname;

/** `simdnet ARGS` with Model.evaluate() counted (its count is the last line of stderr) */
function counted(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', COUNT, CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  const calls = /evaluate\(\) calls: (\d+)\n$/.exec(r.stderr);
  return { code: r.status, out: r.stdout, err: r.stderr.replace(/evaluate\(\) calls: \d+\n$/, ''), calls: calls ? Number(calls[1]) : NaN };
}

const weightsOf = (path: string) => decodeModel(readFileSync(path), path).weights.flatMap((w) => [w.W, w.b]);

describe('simdnet train: the accuracy report', () => {
  it('is the last epoch\'s test evaluation, not a second pass over the test set', () => {
    const base = ['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--epochs', '2', '--batch-size', '20'];
    const r = counted([...base, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.calls).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const [last, done] = lines.slice(-2);
    expect(done.done).toBe(true);
    expect(done.testAccuracy).toBe(last.testAccuracy);
    expect(done.testLoss).toBe(last.testLoss);
    expect(done.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(150);
    // the text report says the same
    const t = counted(base);
    expect(t.calls).toBe(0);
    expect(t.out).toContain(`accuracy ${(done.testAccuracy * 100).toFixed(2)}% (${Math.round(done.testAccuracy * 150)}/150)   loss ${done.testLoss.toFixed(4)}`);
  });
});

describe('simdnet train: SIGINT during an epoch\'s evaluation', () => {
  it('writes the checkpoint of the epoch\'s end (before its evaluations) and exits 130; --resume evaluates the epoch again and ends as an uninterrupted run', async () => {
    // a test set whose evaluation (~0.5-1 s here) is most of an epoch: the signal, sent 0.2 s after
    // epoch 1's line (at once, it is seen in the yield that follows the line, before epoch 2's first
    // batch), lands in epoch 2's evaluation; one that lands in its four training batches (a slow
    // machine) says 'after batch N': then the run is tried again
    const big = writeSyntheticDir(tmp, 'bigtest', { train: 200, test: 50_000, shape: [10, 10], classes: 4 });
    const args = ['train', '--data', big, '--hidden', '2000', '--epochs', '3', '--batch-size', '50', '--lr', '0.01', '--seed', '2', '--json'];
    const ckpt = join(tmp.dir, 'eval.ckpt');
    let r: { code: number | null; out: string; err: string } | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      rmSync(ckpt, { force: true });
      r = await interrupt([...args, '--checkpoint', ckpt], 'SIGINT', undefined, 200);
      if (!/after batch \d+;/.test(r!.err)) break;
    }
    expect(r!.err).toBe(`simdnet: SIGINT: training interrupted in epoch 2 while evaluating the test data (after the epoch's last batch: a resumed run evaluates it again); checkpoint written to ${ckpt}; continue with --resume ${ckpt}\n`);
    expect(r!.code).toBe(130);
    expect(r!.out.trim().split('\n').length).toBe(1); // epoch 1's line only
    const saved = join(tmp.dir, 'resumed.simdnet'), whole = join(tmp.dir, 'whole.simdnet');
    const resumed = spawnSync(process.execPath, [CLI, 'train', '--resume', ckpt, '--json', '--save', saved], { encoding: 'utf8', timeout: 120_000 });
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const lines = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([2, 3, 3]);
    // epoch 2 trained no batch in this process: its epochMs stays out of the median
    expect(lines[0].samples).toBe(0);
    expect(lines[2].epochMsMedian).toBe(lines[1].epochMs);
    const straight = spawnSync(process.execPath, [CLI, ...args, '--save', whole], { encoding: 'utf8', timeout: 120_000 });
    expect(straight.status).toBe(0);
    const done = JSON.parse(straight.stdout.trim().split('\n').at(-1)!);
    expect(lines.at(-1).testAccuracy).toBe(done.testAccuracy);
    expect(lines.at(-1).testLoss).toBe(done.testLoss);
    const a = weightsOf(saved), b = weightsOf(whole);
    expect(a.length).toBe(b.length);
    a.forEach((w, i) => expect(sameBits(w, b[i])).toBe(true));
  }, 180_000);
});
