/** The CLI's robustness contract, in child processes: signals, checkpoints, resume, divergence, exit codes. */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/format/format.js';
import { decodeCheckpoint } from '../src/format/checkpoint.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { CLI, interrupt, runCli } from './helpers/cli-process.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { sameBits as sameFloats } from './helpers/bits.js';

const tmp = tempDir('simdnet-robust-cli-');
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 100, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const EPOCHS = '150';
const base = ['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '20', '--seed', '3', '--json'];

const run = (args: string[]) => runCli(args);

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
    const r2 = run([...base, '--resume', m![1]]); // the run's epochs come from the checkpoint
    rmSync(m![1], { force: true });
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
  }, 120_000);

  it('a signal after the last batch (save, report) still saves the model, then exits 130 saying the run is complete', async () => {
    // a large test set through a wide layer makes the report's pass over the test images (~0.5-1 s
    // here) the part of the run the signal lands in (the accuracy report reuses the last epoch's
    // evaluation, and the model alone saves in a few ms: the signal sometimes came after the exit);
    // lr 0.01: at the default 0.1 this 2000-unit sigmoid layer blows the loss up to 25x its start (a
    // divergence, exit 3)
    const big = writeSyntheticDir(tmp, 'bigtest', { train: 200, test: 50_000, shape: [10, 10], classes: 4 });
    const saved = join(tmp.dir, 'after.simdnet');
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'train', '--data', big, '--hidden', '2000', '--epochs', '2', '--batch-size', '50', '--lr', '0.01', '--json', '--save', saved, '--report', join(tmp.dir, 'after.html')]);
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
    expect(r.err).toMatch(/^simdnet: --lr 0\.02 contradicts .*e1\.ckpt, whose run has --lr 0\.01; drop --lr to continue that run/);
    expect(r.err.trim().split('\n').length).toBe(1);
    const r2 = run([...base, '--hidden', '8', '--epochs', '3', '--resume', ckpt]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/^simdnet: --hidden 8 contradicts .*e1\.ckpt, whose run has --hidden 16;/);
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
    expect(r.err).toMatch(/training diverged in epoch 1, batch 1: the update of \d+ weights overflowed .*; the last weights with finite outputs are .*; the likely cause is the weight decay 10000000000 .*; saved them to .*diverged\.simdnet\n$/);
    const w = weightsOf(saved); // decodeModel itself refuses non-finite weights
    expect(w.length).toBe(4);
  }, 60_000);
});

describe('simdnet train --resume FILE: the run continues with the settings in its checkpoint', () => {
  it('--resume alone continues the run (network, optimizer, schedule, dropout, split, data folder from the checkpoint), bit-identical; a contradicting flag is one line naming it and both values', async () => {
    const flags = ['--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '20', '--seed', '3', '--lr-schedule', 'step', '--step-gamma', '0.9', '--dropout', '0.1', '--validation-split', '0.2', '--epochs', EPOCHS, '--json'];
    const full = join(tmp.dir, 'alone-full.simdnet');
    const r0 = run(['train', ...flags, '--save', full]);
    expect(r0.err).toBe('');
    const ckpt = join(tmp.dir, 'alone.ckpt');
    const r1 = await interrupt(['train', ...flags, '--checkpoint', ckpt], 'SIGINT');
    expect(r1.code).toBe(130);
    const resumed = join(tmp.dir, 'alone-resumed.simdnet');
    const r2 = run(['train', '--resume', ckpt, '--json', '--save', resumed]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    expect(sameBits(weightsOf(resumed), weightsOf(full))).toBe(true);
    // the flags the run was made with are consistent with it; one that differs is refused
    expect(run(['train', '--resume', ckpt, ...flags, '--save', resumed]).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--optimizer', 'sgd'], /^simdnet: --optimizer sgd contradicts .*alone\.ckpt, whose run has --optimizer adam; drop --optimizer to continue that run, or start a new run without --resume\n$/],
      [['--validation-split', '0.1'], /^simdnet: --validation-split 0\.1 contradicts .*, whose run has --validation-split 0\.2;/],
      [['--lr-schedule', 'cosine'], /^simdnet: --lr-schedule cosine contradicts .*, whose run has --lr-schedule step;/],
      [['--lr-schedule-per', 'batch'], /^simdnet: --lr-schedule-per batch contradicts .*, whose run has --lr-schedule-per epoch;/],
      [['--preset', 'fast'], /^simdnet: --preset fast sets --hidden 256, which contradicts .*, whose run has --hidden 16; drop --preset/],
      [['--augment'], /^simdnet: --augment contradicts .*, whose run has no --augment;/],
    ];
    for (const [extra, re] of cases) {
      const r = run(['train', '--resume', ckpt, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
    }
  }, 180_000);

  it('a checkpoint made on other data (same counts, shape and classes) is refused in one line; the same data in another folder resumes, and --epochs may extend the run', () => {
    const ckpt = join(tmp.dir, 'data.ckpt');
    expect(run([...base, '--epochs', '1', '--checkpoint', ckpt]).code).toBe(0);
    expect(decodeCheckpoint(readFileSync(ckpt), ckpt).settings.data).toMatch(/^crc32:[0-9a-f]{8}:600$/);
    const copy = (name: string, change: boolean) => {
      const dir = join(tmp.dir, name);
      mkdirSync(dir, { recursive: true });
      for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(join(data, f), join(dir, f));
      if (change) {
        const images = readFileSync(join(dir, 'train-images-idx3-ubyte'));
        images[16 + 100] ^= 1; // one pixel of one training image
        writeFileSync(join(dir, 'train-images-idx3-ubyte'), images);
      }
      return dir;
    };
    const other = copy('other-data', true);
    const r = run(['train', '--resume', ckpt, '--data', other, '--epochs', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: .*data\.ckpt was made on other training data than .*other-data holds \(fingerprint crc32:[0-9a-f]{8}:600, this data's crc32:[0-9a-f]{8}:600\); its run used --data .*\/data: resume on the data it was made on, or start a new run\n$/);
    const same = run(['train', '--resume', ckpt, '--data', copy('same-data', false), '--epochs', '2', '--json']);
    expect(same.err).toBe('');
    expect(same.code).toBe(0);
    expect(same.out.trim().split('\n').map((l) => JSON.parse(l)).map((l) => [l.epoch, l.done])).toEqual([[2, undefined], [2, true]]);
  }, 60_000);
});

describe("a checkpoint of another run is never overwritten", () => {
  it('--checkpoint FILE holding another run is refused before training (the file kept); the run that wrote it continues writing it', () => {
    const ckpt = join(tmp.dir, 'mine.ckpt');
    expect(run([...base, '--epochs', '1', '--checkpoint', ckpt]).code).toBe(0);
    const before = readFileSync(ckpt);
    for (const again of [[...base, '--epochs', '1'], [...base, '--hidden', '8', '--epochs', '2']]) {
      const r = run([...again, '--checkpoint', ckpt]); // the same command is a new run too
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^simdnet: --checkpoint .*mine\.ckpt holds another run's checkpoint \(30-16-4, after epoch 1 of 1\); continue that run with --resume .*mine\.ckpt, or give --checkpoint another file \(or delete it\)\n$/);
      expect(r.out).toBe('');
      expect(readFileSync(ckpt).equals(before)).toBe(true);
    }
    const notCkpt = tmp.write('notes.ckpt', Buffer.from('my notes'));
    expect(run([...base, '--epochs', '1', '--checkpoint', notCkpt]).err).toMatch(/^simdnet: --checkpoint .*notes\.ckpt holds a file that is not a readable checkpoint \(/);
    // resuming it, the run continues writing it (also under another name: a copy of the same run)
    expect(run(['train', '--resume', ckpt, '--epochs', '2', '--checkpoint', ckpt]).code).toBe(0);
    expect(decodeCheckpoint(readFileSync(ckpt), ckpt).epochsDone).toBe(2);
    const copy = join(tmp.dir, 'mine-copy.ckpt');
    copyFileSync(ckpt, copy);
    expect(run(['train', '--resume', ckpt, '--epochs', '3', '--checkpoint', copy]).code).toBe(0);
    expect(decodeCheckpoint(readFileSync(copy), copy).epochsDone).toBe(3);
  }, 60_000);

  it('without --checkpoint, an interrupted run does not replace another run\'s simdnet-interrupted.ckpt: it takes the next free name and says so', async () => {
    const cwd = join(tmp.dir, 'two-runs');
    mkdirSync(cwd, { recursive: true });
    const first = await interrupt([...base, '--epochs', EPOCHS], 'SIGINT', cwd);
    expect(first.err).toMatch(/checkpoint written to simdnet-interrupted\.ckpt; continue with --resume simdnet-interrupted\.ckpt\n$/);
    const kept = readFileSync(join(cwd, 'simdnet-interrupted.ckpt'));
    const second = await interrupt([...base, '--epochs', EPOCHS], 'SIGINT', cwd);
    expect(second.code).toBe(130);
    expect(second.err).toMatch(/^simdnet: SIGINT: training interrupted in epoch \d+ after batch \d+; checkpoint written to simdnet-interrupted-2\.ckpt \(simdnet-interrupted\.ckpt holds another run's checkpoint, kept\); continue with --resume simdnet-interrupted-2\.ckpt\n$/);
    expect(readFileSync(join(cwd, 'simdnet-interrupted.ckpt')).equals(kept)).toBe(true);
    expect(existsSync(join(cwd, 'simdnet-interrupted-2.ckpt'))).toBe(true);
  }, 120_000);
});

describe('two runs never write one checkpoint: a lock file beside it', () => {
  /** `simdnet ARGS` in a child process: its first epoch line (--json), and its exit */
  const startRun = (args: string[]) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let out = '', err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<{ code: number | null; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, err })));
    const epochLine = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('no epoch line')); }, 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('"epoch":')) { clearTimeout(timer); resolve(); }
      });
      child.on('exit', () => { clearTimeout(timer); reject(new Error(`exited before an epoch line: ${err}`)); });
    });
    return { child, epochLine, exited };
  };
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  it('a second run with the same --checkpoint, or a --resume of it, is refused in one line naming the first one\'s process; the lock goes when the first ends (SIGINT too)', async () => {
    const ckpt = join(tmp.dir, 'race.ckpt'), lock = `${ckpt}.lock`;
    // long enough to outlast the three refused runs below on a slow machine; stopped by SIGINT
    const first = startRun([...base, '--epochs', '100000', '--checkpoint', ckpt]);
    await first.epochLine;
    try {
      expect(readFileSync(lock, 'utf8')).toBe(`${first.child.pid}\n`);
      const inUse = (flag: string) => new RegExp(`^simdnet: ${flag} ${esc(ckpt)}: another simdnet train \\(process ${first.child.pid}\\) is using this checkpoint \\(lock file ${esc(lock)}\\); .*nothing was trained\n$`);
      const second = run([...base, '--epochs', '2', '--checkpoint', ckpt]);
      expect(second.code).toBe(2);
      expect(second.err).toMatch(inUse('--checkpoint'));
      expect(second.out).toBe('');
      const resumer = run(['train', '--resume', ckpt, '--checkpoint', ckpt]);
      expect(resumer.code).toBe(2);
      expect(resumer.err).toMatch(inUse('--checkpoint'));
      const reader = run(['train', '--resume', ckpt, '--json']);
      expect(reader.code).toBe(2);
      expect(reader.err).toMatch(inUse('--resume'));
      expect(readFileSync(lock, 'utf8')).toBe(`${first.child.pid}\n`); // theirs, left alone
    } finally {
      first.child.kill('SIGINT');
    }
    const { code, err } = await first.exited;
    expect(code).toBe(130);
    expect(err).toMatch(/^simdnet: SIGINT: training interrupted .*checkpoint written to .*race\.ckpt; continue with --resume/);
    expect(existsSync(lock)).toBe(false);
    // now the run continues from it (stopped again after an epoch), and leaves no lock either
    const again = startRun(['train', '--resume', ckpt, '--checkpoint', ckpt, '--json']);
    await again.epochLine;
    again.child.kill('SIGINT');
    const resumed = await again.exited;
    expect(resumed.err).toMatch(/^simdnet: SIGINT: training interrupted /);
    expect(resumed.code).toBe(130);
    expect(existsSync(lock)).toBe(false);
  }, 120_000);

  it('a lock whose process is gone is taken over with a note; a run that fails after taking its lock removes it', () => {
    const ckpt = join(tmp.dir, 'stale.ckpt'), lock = `${ckpt}.lock`;
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(lock, `${dead}\n`);
    const r = run([...base, '--epochs', '1', '--checkpoint', ckpt]);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`simdnet: note: took over the lock file ${lock}: process ${dead}, which left it, is no longer running\n`);
    expect(existsSync(lock)).toBe(false);
    expect(decodeCheckpoint(readFileSync(ckpt), ckpt).epochsDone).toBe(1);
    // refused after the lock is taken (a checkpoint of other settings): one line, exit 2, no lock left
    const other = run([...base, '--epochs', '2', '--lr', '0.02', '--resume', ckpt, '--checkpoint', ckpt]);
    expect(other.code).toBe(2);
    expect(other.err.trim().split('\n').length).toBe(1);
    expect(existsSync(lock)).toBe(false);
  }, 60_000);
});
