/** The CLI's robustness contract, in child processes: signals, checkpoints, resume, divergence, exit codes. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/format.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { sameBits as sameFloats } from './helpers/bits.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-robust-cli-');
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 100, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const EPOCHS = '150';
const base = ['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '20', '--seed', '3', '--json'];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** start training, send `signal` once the first epoch is reported, resolve with the exit code and output */
function interrupt(args: string[], signal: NodeJS.Signals, cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd });
    let out = '', err = '', sent = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (!sent && out.includes('"epoch":1,')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

const weightsOf = (path: string) => decodeModel(readFileSync(path), path).weights.flatMap((w) => [w.W, w.b]);
const sameBits = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((x, i) => sameFloats(x, b[i]));

describe('simdnet train: signals, checkpoints, resume', () => {
  it('SIGINT writes a checkpoint, says where and exits 130; --resume ends bit-identical to an uninterrupted run', async () => {
    const full = join(tmp.dir, 'full.simdnet');
    const r0 = run([...base, '--epochs', EPOCHS, '--save', full]);
    expect(r0.err).toBe('');
    expect(r0.code).toBe(0);

    const ckpt = join(tmp.dir, 'run.ckpt');
    const r1 = await interrupt([...base, '--epochs', EPOCHS, '--checkpoint', ckpt, '--checkpoint-every', '7'], 'SIGINT');
    expect(r1.code).toBe(130);
    expect(r1.err.trim().split('\n').length).toBe(1);
    expect(r1.err).toMatch(new RegExp(`SIGINT: training interrupted in epoch \\d+ after batch \\d+; checkpoint written to ${ckpt.replace(/[.]/g, '\\.')}`));
    expect(existsSync(ckpt)).toBe(true);

    const resumed = join(tmp.dir, 'resumed.simdnet');
    const r2 = run([...base, '--epochs', EPOCHS, '--checkpoint', ckpt, '--resume', ckpt, '--save', resumed]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    const done = JSON.parse(r2.out.trim().split('\n').pop()!);
    expect(done.done).toBe(true);
    expect(sameBits(weightsOf(resumed), weightsOf(full))).toBe(true);
  }, 120_000);

  it('SIGINT without --checkpoint where the default checkpoint cannot be written: it goes to the temporary folder, one line says where and why', async () => {
    const cwd = join(tmp.dir, 'blocked');
    mkdirSync(join(cwd, 'simdnet-interrupted.ckpt', 'in-the-way'), { recursive: true }); // a folder where the file would go
    const r = await interrupt([...base, '--epochs', EPOCHS], 'SIGINT', cwd);
    expect(r.code).toBe(130);
    expect(r.err.trim().split('\n').length).toBe(1);
    const m = /checkpoint written to (\S+) \(simdnet-interrupted\.ckpt could not be written: .+\); continue with --resume (\S+)$/.exec(r.err.trim());
    expect(m, r.err).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(m![1].startsWith(tmpdir())).toBe(true);
    const r2 = run([...base, '--epochs', '3', '--resume', m![1]]); // --epochs is the run's total
    rmSync(m![1], { force: true });
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
  }, 120_000);

  it('a signal after the last batch (final evaluation, save) still saves the model, then exits 130 saying the run is complete', async () => {
    // a large test set through a wide layer makes the final evaluation (~0.5-1 s here) the part of the
    // run the signal lands in (with 64 hidden units it took a few ms and the signal sometimes came
    // after the exit)
    const big = writeSyntheticDir(tmp, 'bigtest', { train: 200, test: 50_000, shape: [10, 10], classes: 4 });
    const saved = join(tmp.dir, 'after.simdnet');
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'train', '--data', big, '--hidden', '2000', '--epochs', '2', '--batch-size', '50', '--json', '--save', saved]);
      let out = '', err = '', sent = false;
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (!sent && out.includes('"epoch":2,')) { // the last epoch's line: fit() is done training
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
    });
    expect(r.err).toMatch(/^simdnet: SIGINT after training had finished: the run is complete and the model was saved to .*after\.simdnet\n$/);
    expect(r.code).toBe(130);
    expect(weightsOf(saved).length).toBe(4);
  }, 60_000);

  it('SIGTERM exits 143 after writing the checkpoint', async () => {
    const ckpt = join(tmp.dir, 'term.ckpt');
    const r = await interrupt([...base, '--epochs', EPOCHS, '--checkpoint', ckpt], 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.err).toMatch(/SIGTERM: .*checkpoint written to .*term\.ckpt; continue with --resume/);
    expect(existsSync(ckpt)).toBe(true);
  }, 60_000);

  it('a checkpoint from other settings is refused with exit 2 and both values; a corrupt one is a one-line DataError', () => {
    const ckpt = join(tmp.dir, 'e1.ckpt');
    expect(run([...base, '--epochs', '1', '--checkpoint', ckpt]).code).toBe(0);
    const r = run([...base.map((a) => (a === '0.01' ? '0.02' : a)), '--epochs', '3', '--resume', ckpt]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: the checkpoint was made with learningRate 0\.01 but this run has learningRate 0\.02/);
    expect(r.err.trim().split('\n').length).toBe(1);
    const r2 = run([...base, '--hidden', '8', '--epochs', '3', '--resume', ckpt]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/checkpoint is for a 30-16-4 network but this run builds 30-8-4/);
    const broken = tmp.write('broken.ckpt', readFileSync(ckpt).subarray(0, 100));
    const r3 = run([...base, '--epochs', '3', '--resume', broken]);
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/^simdnet: .*broken\.ckpt: checksum mismatch/);
  }, 60_000);

  it('a reader that goes away (`simdnet train | head -1`) costs no stack trace: the run finishes and --save writes the model', async () => {
    const model = join(tmp.dir, 'epipe.simdnet');
    const r = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...base, '--epochs', '5', '--save', model]);
      child.stdout.destroy(); // the read end is closed before the first line is written: every write gets EPIPE
      let err = '';
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 60_000);
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => { clearTimeout(timer); resolve({ code, err }); });
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(model)).toBe(true);
  }, 60_000);

  it('divergence exits 3 naming epoch and batch, and --save keeps finite weights', () => {
    const saved = join(tmp.dir, 'diverged.simdnet');
    const r = run(['train', '--data', data, '--hidden', '16', '--optimizer', 'sgd', '--lr', '1e30', '--weight-decay', '1e10', '--epochs', '2', '--save', saved, '--json']);
    expect(r.code).toBe(3);
    expect(r.err.trim().split('\n').length).toBe(1);
    expect(r.err).toMatch(/training diverged: the update of \d+ weights overflowed .* in epoch 1, batch 1; .*lower learning rate .*the weights \(all finite\) were saved to/);
    const w = weightsOf(saved); // decodeModel itself refuses non-finite weights
    expect(w.length).toBe(4);
  }, 60_000);
});
