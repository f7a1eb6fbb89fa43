/**
 * simdnet train --label-smoothing E, in child processes: bad values and the mse loss get one line
 * and exit 2; a run with it trains otherwise than without; a checkpoint keeps it, --resume
 * continues with it and refuses another value in one line.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { readCheckpoint } from '../src/io/checkpoint-io.js';

const tmp = tempDir('simdnet-smoothing-');
const data = writeSyntheticDir(tmp, 'data', { train: 200, test: 50, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const run = (args: string[]) => runCli(args);
const base = ['train', '--data', data, '--hidden', '8', '--batch-size', '20', '--json'];
const epochs = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => !l.done);

describe('simdnet train --label-smoothing', () => {
  it('a value outside [0, 1), not a number, or with --loss mse: one line, exit 2', () => {
    const cases: [string[], string][] = [
      [['--label-smoothing', '1'], "simdnet: --label-smoothing must be in [0, 1), got '1'\n"],
      [['--label-smoothing', '-0.1'], "simdnet: --label-smoothing must be in [0, 1), got '-0.1'\n"],
      [['--label-smoothing', 'abc'], "simdnet: --label-smoothing must be a number, got 'abc'\n"],
      [['--label-smoothing', '0x1'], "simdnet: --label-smoothing must be a number, got '0x1'\n"],
      [['--loss', 'mse', '--label-smoothing', '0.1'], 'simdnet: --label-smoothing applies to the ce loss (softmax + cross-entropy), not --loss mse: drop --label-smoothing or use --loss ce\n'],
    ];
    for (const [flags, line] of cases) {
      const r = run(['train', '--data', '/nonexistent', ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err).toBe(line);
    }
  });

  it('trains with it; the checkpoint keeps it; --resume continues with it and refuses another value', () => {
    const ckpt = join(tmp.dir, 'run.ckpt');
    const flags = [...base, '--validation-split', '0.2', '--epochs', '2'];
    const smooth = run([...flags, '--label-smoothing', '0.2', '--checkpoint', ckpt]);
    expect(smooth.err).toBe('');
    expect(smooth.code).toBe(0);
    const plain = run(flags);
    expect(plain.code).toBe(0);
    // from the same initial weights, the epochs' loss and the weights trained differ from the plain
    // run's (which loss each figure is: test/label-smoothing.train.test.ts)
    const [s1, p1] = [epochs(smooth.out)[0], epochs(plain.out)[0]];
    expect(s1.loss).not.toBe(p1.loss);
    expect(s1.valLoss).not.toBe(p1.valLoss);
    expect(readCheckpoint(ckpt).settings.labelSmoothing).toBe(0.2);
    // more epochs of that run: the smoothing comes from the checkpoint; another value is refused
    const more = run(['train', '--resume', ckpt, '--epochs', '3', '--json']);
    expect(more.err).toBe('');
    expect(more.code).toBe(0);
    expect(readCheckpoint(ckpt).settings.labelSmoothing).toBe(0.2);
    for (const [extra, had] of [[['--label-smoothing', '0.1'], '--label-smoothing 0.1'], [['--label-smoothing', '0'], '--label-smoothing 0']]) {
      const r = run(['train', '--resume', ckpt, '--epochs', '4', ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(`^simdnet: ${had} contradicts .*run\\.ckpt, whose run has --label-smoothing 0\\.2; drop --label-smoothing to continue that run, or start a new run without --resume\\n$`));
    }
    expect(run(['train', '--resume', ckpt, '--epochs', '4', '--label-smoothing', '0.2', '--json']).code).toBe(0);
  }, 120_000);
});
