/**
 * Files the CLI reads and writes, in child processes: special files (devices, FIFOs, links to
 * /dev/zero) get one line and never hang; permission errors are called that; outputs that fail at
 * the end of a run (a full disk in a private tmpfs, a folder made read-only, a folder deleted) go to
 * the temporary folder and one line says where; a checkpoint that fails mid-run names the intact
 * one and the command that resumes; a second SIGINT says what it cost; one rule for output folders.
 *
 * Permission errors need a process the permission bits apply to: as root, the CLI runs under
 * `setpriv` without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (then root is held to the owner's bits
 * like anyone); otherwise the bits apply already. A full disk is a tmpfs of a few pages mounted in
 * a private mount namespace (`unshare -m`, or `unshare -rm` when not root).
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../src/format/checkpoint.js';
import { decodeModel } from '../src/format/format.js';
import { encodeIdx, tempDir } from './helpers/idx-fixtures.js';
import { Rng } from '../src/core/rng.js';
import { writeSyntheticDir } from './helpers/synthetic.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-files-cli-');
chmodSync(tmp.dir, 0o755);
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 100, shape: [6, 5], classes: 4 });
/** the temporary folder the CLI falls back to, so its files can be found (and are removed) */
const fallbackDir = tmp.sub('fallback');
afterAll(() => {
  chmodSync(tmp.dir, 0o755);
  tmp.remove();
});

const base = ['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '20', '--seed', '3'];
const env = { ...process.env, TMPDIR: fallbackDir };

function run(args: string[], opts: SpawnSyncOptions = {}, prefix: string[] = []) {
  const [cmd, ...pre] = [...prefix, process.execPath];
  const r = spawnSync(cmd, [...pre, CLI, ...args], { encoding: 'utf8', timeout: 30_000, env, ...opts });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

const oneLine = (err: string) => err.trim().split('\n').length === 1 && err.endsWith('\n');

/** how to run the CLI so that permission bits apply to it */
const UNPRIVILEGED: string[] | null = (() => {
  if (process.getuid?.() !== 0) return [];
  const args = ['setpriv', '--bounding-set=-dac_override,-dac_read_search'];
  const probe = tmp.sub('probe-locked');
  chmodSync(probe, 0);
  const r = spawnSync(args[0], [...args.slice(1), 'ls', probe], { encoding: 'utf8' });
  chmodSync(probe, 0o755);
  return r.status !== 0 && /denied/i.test(r.stderr) ? args : null;
})();

/** a private mount namespace where a tmpfs can be mounted (root, or an unprivileged user namespace) */
const UNSHARE: string[] | null = (() => {
  const args = process.getuid?.() === 0 ? ['unshare', '-m'] : ['unshare', '-rm'];
  const dir = tmp.sub('probe-mnt');
  const r = spawnSync(args[0], [...args.slice(1), 'sh', '-c', `mount -t tmpfs -o size=16k tmpfs ${dir} && touch ${dir}/x`]);
  return r.status === 0 ? args : null;
})();
if (!UNPRIVILEGED) console.warn('files.cli.test: cannot drop file permissions here (no setpriv): the permission tests are skipped');
if (!UNSHARE) console.warn('files.cli.test: cannot mount a private tmpfs here (no unshare): the full-disk tests are skipped');

/**
 * run the CLI with `dir` a tmpfs of `pages` 4 KiB pages of which `freePages` are left free; then
 * copy what the run left in `dir` to `keep` (the tmpfs goes with the namespace)
 */
function runOnFullDisk(dir: string, pages: number, freePages: number, keep: string, args: string[]) {
  mkdirSync(dir, { recursive: true });
  mkdirSync(keep, { recursive: true });
  const script = `mount -t tmpfs -o size=${pages * 4096} tmpfs "$1" && dd if=/dev/zero of="$1/filler" bs=4096 count=${pages - freePages} 2>/dev/null || exit 99
shift_dir="$1"; keep="$2"; shift 2
"$@"; rc=$?
rm -f "$shift_dir/filler"; cp -a "$shift_dir/." "$keep/" 2>/dev/null; exit $rc`;
  const r = spawnSync(UNSHARE![0], [...UNSHARE!.slice(1), 'sh', '-c', script, 'sh', dir, keep, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000, env });
  expect(r.status, r.stderr).not.toBe(99);
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** start a run; once the first epoch is reported, call `then(child)`; resolve with the outcome */
function during(args: string[], then: (child: ReturnType<typeof spawn>) => void, prefix: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = [...prefix, process.execPath];
    const child = spawn(cmd, [...pre, CLI, ...args], { env });
    let out = '', err = '', done = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 90_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (!done && /"epoch":1,|epoch +1\//.test(out)) {
        done = true;
        then(child);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

/** run the `continue with: simdnet train ...` command of an error line */
function runResumeCommand(err: string) {
  const cmd = /continue with: simdnet (train .*)$/.exec(err.trim());
  expect(cmd, err).not.toBeNull();
  const args = cmd![1].split(' ').map((a) => a.replace(/^'(.*)'$/, '$1'));
  return run(args);
}

const model = (() => {
  const path = join(tmp.dir, 'm.simdnet');
  const r = run([...base, '--epochs', '1', '--json', '--save', path]);
  if (r.code !== 0) throw new Error(r.err);
  return path;
})();

describe('reading: only regular files of bounded size, one line for anything else, never a hang', () => {
  const fifo = join(tmp.dir, 'a.fifo');
  spawnSync('mkfifo', [fifo]);
  const zeroLink = join(tmp.dir, 'zero.simdnet');
  symlinkSync('/dev/zero', zeroLink);
  const tfjs = tmp.sub('tfjs-zero');
  writeFileSync(join(tfjs, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }));
  symlinkSync('/dev/zero', join(tfjs, 'weights.bin'));
  const zeroData = tmp.sub('data-zero');
  const fifoData = tmp.sub('data-fifo');
  for (const f of readdirSync(data)) {
    writeFileSync(join(zeroData, f), readFileSync(join(data, f)));
    writeFileSync(join(fifoData, f), readFileSync(join(data, f)));
  }
  symlinkSync('/dev/zero', join(zeroData, 'train-images-idx3-ubyte.gz')); // beside the raw file: the raw one is read
  const rawImages = join(zeroData, 'train-images-idx3-ubyte');
  const cases: [string, () => string[], RegExp][] = [
    ['eval --model /dev/zero', () => ['eval', '--model', '/dev/zero', '--data', data], /^simdnet: \/dev\/zero: is a character device, not a regular file; give the path of a model file\n$/],
    ['eval --model FIFO', () => ['eval', '--model', fifo, '--data', data], /^simdnet: .*a\.fifo: is a named pipe \(FIFO\), not a regular file; give the path of a model file\n$/],
    ['eval --model a link to /dev/zero', () => ['eval', '--model', zeroLink, '--data', data], /^simdnet: .*zero\.simdnet: is a character device \(\/dev\/zero\), not a regular file/],
    ['train --resume /dev/zero', () => [...base, '--epochs', '2', '--resume', '/dev/zero'], /^simdnet: \/dev\/zero: is a character device, not a regular file; give the path of a checkpoint file\n$/],
    ['export --model FIFO', () => ['export', '--format', 'onnx', '--model', fifo, '--out', join(tmp.dir, 'x.onnx')], /a\.fifo: is a named pipe \(FIFO\), not a regular file/],
    ['import: tfjs weights.bin linked to /dev/zero', () => ['import', '--format', 'tfjs', '--model', tfjs, '--out', join(tmp.dir, 'z.simdnet')], /weights\.bin: is a character device \(\/dev\/zero\), not a regular file; give the path of a TensorFlow\.js weights file\n$/],
    ['import: tfjs model.json that is a FIFO', () => ['import', '--format', 'tfjs', '--model', fifo, '--out', join(tmp.dir, 'z.simdnet')], /a\.fifo: is a named pipe \(FIFO\), not a regular file; give the path of a TensorFlow\.js model\.json\n$/],
    ['IDX: an image file linked to /dev/zero', () => { rmSync(rawImages); return [...base, '--data', zeroData, '--epochs', '1']; }, /train-images-idx3-ubyte\.gz: is a character device \(\/dev\/zero\), not a regular file; give the path of an IDX file\n$/],
    ['IDX: a labels file that is a FIFO', () => { rmSync(join(fifoData, 't10k-labels-idx1-ubyte')); spawnSync('mkfifo', [join(fifoData, 't10k-labels-idx1-ubyte')]); return [...base, '--data', fifoData, '--epochs', '1']; }, /t10k-labels-idx1-ubyte: is a named pipe \(FIFO\), not a regular file; give the path of an IDX file\n$/],
  ];
  for (const [name, args, re] of cases) {
    it(`${name}: one line, exit 2, no hang`, () => {
      const r = run(args());
      expect(r.code, `${name}: ${r.err}`).toBe(2); // null: killed by the timeout, it hung
      expect(r.err).toMatch(re);
      expect(oneLine(r.err)).toBe(true);
    });
  }

  it('an output path that is a device is refused up front (a rename would replace it)', () => {
    const dev = join(tmp.dir, 'null-link');
    symlinkSync('/dev/null', dev);
    const r = run([...base, '--epochs', '1', '--save', dev]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: --save: .*null-link is not a regular file \(a device, FIFO or socket\); give a file name; nothing was trained\n$/);
    expect(lstatSync(dev).isSymbolicLink()).toBe(true);
  });
});

describe.skipIf(!UNPRIVILEGED)('permission errors are called that, naming the file', () => {
  it('a data folder that cannot be entered: permission denied, not "missing"', () => {
    const locked = tmp.sub('locked-data');
    for (const f of readdirSync(data)) writeFileSync(join(locked, f), readFileSync(join(data, f)));
    chmodSync(locked, 0);
    const r = run([...base, '--data', locked, '--epochs', '1'], {}, UNPRIVILEGED!);
    chmodSync(locked, 0o755);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^simdnet: .*locked-data\/train-images-idx3-ubyte: cannot read the file: permission denied on its folder .*locked-data; fix the folder's permissions\n$/);
    expect(r.err).not.toContain('missing');
  });

  it('an unreadable IDX file, model file, checkpoint and tfjs model.json: permission denied and the file', () => {
    const data2 = tmp.sub('locked-file');
    for (const f of readdirSync(data)) writeFileSync(join(data2, f), readFileSync(join(data, f)));
    chmodSync(join(data2, 't10k-labels-idx1-ubyte'), 0);
    const m = join(tmp.dir, 'locked.simdnet');
    writeFileSync(m, readFileSync(model));
    chmodSync(m, 0);
    const tf = tmp.sub('locked-tfjs');
    writeFileSync(join(tf, 'model.json'), '{}');
    chmodSync(join(tf, 'model.json'), 0);
    const cases: [string[], RegExp][] = [
      [[...base, '--data', data2, '--epochs', '1'], /t10k-labels-idx1-ubyte: cannot read the file: permission denied; fix its permissions/],
      [['eval', '--model', m, '--data', data], /locked\.simdnet: cannot read the model file: permission denied; fix the permissions of the file/],
      [[...base, '--epochs', '2', '--resume', m], /locked\.simdnet: cannot read the checkpoint file: permission denied/],
      [['import', '--format', 'tfjs', '--model', tf, '--out', join(tmp.dir, 'i.simdnet')], /model\.json: cannot read the TensorFlow\.js model\.json: permission denied/],
    ];
    for (const [args, re] of cases) {
      const r = run(args, {}, UNPRIVILEGED!);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(re);
      expect(oneLine(r.err)).toBe(true);
    }
  });

  it('a --save folder made read-only during training: the report is printed, the model goes to the temporary folder, one line says where', async () => {
    const folder = tmp.sub('turns-read-only');
    const r = await during([...base, '--epochs', '300', '--save', join(folder, 'm.simdnet')], () => chmodSync(folder, 0o555), UNPRIVILEGED!);
    chmodSync(folder, 0o755);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Accuracy report: the 100 test images');
    const m = /^simdnet: could not write the model to .*turns-read-only\/m\.simdnet: permission denied \(EACCES\); it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(m![1].startsWith(fallbackDir)).toBe(true);
    expect(r.out).toContain(`saved the model to ${m![1]}`);
    expect(decodeModel(readFileSync(m![1]), m![1]).weights.length).toBe(2);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe.skipIf(!UNSHARE)('a full disk (a tmpfs of a few pages)', () => {
  it('--save on a full disk: the accuracy report is printed, the model is in the temporary folder, one line says where (exit 2)', () => {
    const r = runOnFullDisk(join(tmp.dir, 'full-save'), 16, 0, join(tmp.dir, 'full-save-kept'), [...base, '--epochs', '2', '--save', join(tmp.dir, 'full-save', 'm.simdnet')]);
    expect(r.code, r.err).toBe(2);
    expect(r.out).toContain('Accuracy report: the 100 test images');
    const m = /^simdnet: could not write the model to .*full-save\/m\.simdnet: no space left on the device \(ENOSPC\); it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(m![1].startsWith(fallbackDir)).toBe(true);
    const acc = /accuracy (\d+\.\d+)%/.exec(r.out)![1];
    expect((decodeModel(readFileSync(m![1]), m![1]).meta.testAccuracy as number) * 100).toBeCloseTo(Number(acc), 2);
    expect(readdirSync(join(tmp.dir, 'full-save-kept'))).toEqual([]); // no temporary file left behind
  });

  it('--json and --report on a full disk: both go to the temporary folder, the JSON line names them, one error line', () => {
    const dir = join(tmp.dir, 'full-both');
    const r = runOnFullDisk(dir, 16, 0, join(tmp.dir, 'full-both-kept'), [...base, '--epochs', '2', '--json', '--save', join(dir, 'm.simdnet'), '--report', join(dir, 'r.html')]);
    expect(r.code, r.err).toBe(2);
    const done = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(done.done).toBe(true);
    expect(oneLine(r.err)).toBe(true);
    expect(r.err).toMatch(/could not write the model to .*m\.simdnet: no space left on the device \(ENOSPC\); it was written to \S+ instead; could not write the report to .*r\.html: no space left on the device \(ENOSPC\); it was written to \S+ instead\n$/);
    expect(r.err).toContain(done.savedTo);
    expect(r.err).toContain(done.reportTo);
    expect(existsSync(done.savedTo) && existsSync(done.reportTo)).toBe(true);
    expect(readFileSync(done.reportTo, 'utf8')).toContain('<html');
  });

  it('export and import on a full disk: the output goes to the temporary folder, one line says where', () => {
    const dir = join(tmp.dir, 'full-export');
    const cases: [string[], RegExp][] = [
      [['export', '--format', 'onnx', '--model', model, '--out', join(dir, 'm.onnx')], /^simdnet: could not write the ONNX model to .*full-export\/m\.onnx: no space left on the device \(ENOSPC\); it was written to (\S+) instead\n$/],
      [['export', '--format', 'tfjs', '--model', model, '--out', join(dir, 'web')], /^simdnet: could not write the TensorFlow\.js model to .*full-export\/web: no space left on the device \(ENOSPC\); it was written to (\S+) instead\n$/],
      [['import', '--format', 'tfjs', '--model', join(tmp.dir, 'tfjs-ok'), '--out', join(dir, 'i.simdnet')], /^simdnet: could not write the model to .*full-export\/i\.simdnet: no space left on the device \(ENOSPC\); it was written to (\S+) instead\n$/],
    ];
    if (!existsSync(join(tmp.dir, 'tfjs-ok'))) expect(run(['export', '--format', 'tfjs', '--model', model, '--out', join(tmp.dir, 'tfjs-ok')]).code).toBe(0);
    for (const [args, re] of cases) {
      const r = runOnFullDisk(dir, 16, 0, join(tmp.dir, 'full-export-kept'), args);
      expect(r.code, r.err).toBe(2);
      const m = re.exec(r.err);
      expect(m, r.err).not.toBeNull();
      expect(existsSync(m![1]) && m![1].startsWith(fallbackDir)).toBe(true);
    }
  });

  it('a --checkpoint write that fails mid-run: the previous checkpoint is intact, this one is in the temporary folder, and the command that resumes runs', () => {
    // one checkpoint's pages free: epoch 1's fits; epoch 2's temporary file cannot sit beside it
    const probe = join(tmp.dir, 'size.ckpt');
    expect(run([...base, '--epochs', '1', '--json', '--checkpoint', probe]).code).toBe(0);
    const pages = Math.ceil(statSync(probe).size / 4096);
    const dir = join(tmp.dir, 'full-ckpt'), kept = join(tmp.dir, 'full-ckpt-kept');
    const ckpt = join(dir, 'run.ckpt');
    // (and one page for the lock file the run holds beside its checkpoint)
    const r = runOnFullDisk(dir, pages + 9, pages + 1, kept, [...base, '--epochs', '4', '--json', '--checkpoint', ckpt]);
    expect(r.code, r.err).toBe(2);
    expect(oneLine(r.err)).toBe(true);
    const m = new RegExp(`^simdnet: could not write the checkpoint ${ckpt} after epoch 2 of 4: no space left on the device \\(ENOSPC\\); the previous checkpoint ${ckpt} \\(after epoch 1 of 4\\) is intact; this one was written to (\\S+) instead; continue with: simdnet train .* --checkpoint ${ckpt} --resume (\\S+)\n$`).exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    // what was left on the full disk: epoch 1's checkpoint, whole
    const prev = decodeCheckpoint(readFileSync(join(kept, 'run.ckpt')), 'run.ckpt');
    expect([prev.epochsDone, prev.batchInEpoch]).toEqual([1, 0]);
    expect(decodeCheckpoint(readFileSync(m![1]), m![1]).epochsDone).toBe(2);
    // the command it gives continues the run (its --checkpoint folder is back on a disk with room)
    mkdirSync(dir, { recursive: true });
    const r2 = runResumeCommand(r.err);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.out.trim().split('\n').pop()!).epoch).toBe(4);
  });
});

describe.skipIf(!UNSHARE)('a full disk at the last epoch', () => {
  it("a checkpoint of the run's last epoch that cannot be written does not stop the run: the model is saved, then one line says where the checkpoint went", () => {
    const probe = join(tmp.dir, 'size-last.ckpt');
    expect(run([...base, '--epochs', '1', '--json', '--checkpoint', probe]).code).toBe(0);
    const pages = Math.ceil(statSync(probe).size / 4096);
    const dir = join(tmp.dir, 'full-last');
    const model2 = join(tmp.dir, 'last.simdnet');
    const r = runOnFullDisk(dir, pages + 9, pages + 1, join(tmp.dir, 'full-last-kept'), [...base, '--epochs', '2', '--json', '--checkpoint', join(dir, 'run.ckpt'), '--save', model2]); // + the lock file's page
    expect(r.code, r.err).toBe(2);
    const done = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(done.done).toBe(true);
    expect(done.savedTo).toBe(model2);
    const m = /^simdnet: could not write the checkpoint to .*full-last\/run\.ckpt: no space left on the device \(ENOSPC\); it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(decodeCheckpoint(readFileSync(m![1]), m![1]).epochsDone).toBe(2);
    expect(decodeModel(readFileSync(model2), model2).meta.testAccuracy).toBe(done.testAccuracy);
  });
});

describe('outputs that fail after training: the temporary folder, one line', () => {
  it('--save into a folder deleted during training: the model goes to the temporary folder', async () => {
    const folder = tmp.sub('vanishes');
    const r = await during([...base, '--epochs', '300', '--save', join(folder, 'm.simdnet')], () => rmSync(folder, { recursive: true, force: true }));
    expect(r.code).toBe(2);
    expect(r.out).toContain('Accuracy report');
    const m = /^simdnet: could not write the model to .*vanishes\/m\.simdnet: its folder does not exist \(ENOENT\); it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(existsSync(m![1])).toBe(true);
    expect(existsSync(folder)).toBe(false); // no folder is created on the way
  });
});

/** a folder of dense random 28x28 images (no sparse shortcut: every batch costs the full product) */
function denseDir(name: string, train: number): string {
  const rng = new Rng(5);
  const dir = tmp.sub(name);
  const write = (prefix: string, n: number) => {
    const images = new Uint8Array(n * 784).map(() => 1 + rng.int(255));
    const labels = new Uint8Array(n).map(() => rng.int(4));
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), encodeIdx('u8', [n, 28, 28], images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), encodeIdx('u8', [n], labels));
  };
  write('train', train);
  write('t10k', 100);
  return dir;
}

/**
 * two SIGINTs inside one batch: the first 0.2 s after epoch 1's line (past the yield that follows
 * it, inside the next batch of about a second), the second 0.1 s later
 */
const twice = (child: ReturnType<typeof spawn>) =>
  setTimeout(() => {
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGINT'), 100);
  }, 200);

describe('a second SIGINT during a long batch', () => {
  it('stops at once with one line: nothing saved, where the last checkpoint is and the command that continues', async () => {
    // batches of about a second (dense random 28x28 images, 3,000 hidden units, 1,000 samples):
    // fit() polls the stop flag before it yields, so both signals must reach the same batch
    const big = denseDir('big', 3000);
    const ckpt = join(tmp.dir, 'twice.ckpt');
    const args = ['train', '--data', big, '--hidden', '3000', '--batch-size', '1000', '--epochs', '50', '--json', '--checkpoint', ckpt];
    const r = await during(args, twice);
    expect(r.code).toBe(130);
    expect(oneLine(r.err)).toBe(true);
    expect(r.err).toMatch(new RegExp(`^simdnet: SIGINT again: stopped at once without saving; the last checkpoint is ${ckpt} \\(after epoch 1 of 50\\); continue with: simdnet train .* --resume ${ckpt}\n$`));
    expect(decodeCheckpoint(readFileSync(ckpt), ckpt).epochsDone).toBe(1);
  });

  it('without --checkpoint: says that no checkpoint was written', async () => {
    const big = join(tmp.dir, 'big');
    const r = await during(['train', '--data', big, '--hidden', '3000', '--batch-size', '1000', '--epochs', '50'], twice);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/simdnet: SIGINT again: stopped at once without saving; no checkpoint was written in this run\n$/);
  });
});

describe('one rule for output folders: simdnet creates the file (export: the folder --out names), never the folders above it', () => {
  const missing = () => join(tmp.dir, 'no-such', 'dir');
  const cases: [string, () => string[], RegExp][] = [
    ['export onnx to a file', () => ['export', '--format', 'onnx', '--model', model, '--out', join(missing(), 'm.onnx')], /^simdnet: --out: cannot write .*no-such\/dir\/m\.onnx: the folder .*no-such\/dir does not exist \(simdnet creates files, not folders: create it first\); nothing was written\n$/],
    ['export onnx to a folder', () => ['export', '--format', 'onnx', '--model', model, '--out', missing()], /^simdnet: --out: cannot create the folder .*no-such\/dir: the folder .*no-such does not exist \(simdnet creates the folder --out names, not the folders above it: create it first\); nothing was written\n$/],
    ['export tfjs', () => ['export', '--format', 'tfjs', '--model', model, '--out', missing()], /^simdnet: --out: cannot create the folder .*no-such\/dir: the folder .*no-such does not exist/],
    ['import', () => ['import', '--format', 'tfjs', '--model', join(tmp.dir, 'tfjs-ok'), '--out', join(missing(), 'm.simdnet')], /^simdnet: --out: cannot write .*no-such\/dir\/m\.simdnet: the folder .*no-such\/dir does not exist \(simdnet creates files, not folders: create it first\); nothing was written\n$/],
    ['train --save', () => [...base, '--epochs', '1', '--save', join(missing(), 'm.simdnet')], /^simdnet: --save: cannot write .*no-such\/dir\/m\.simdnet: the folder .*no-such\/dir does not exist \(simdnet creates files, not folders: create it first\); nothing was trained\n$/],
    ['train --report', () => [...base, '--epochs', '1', '--report', join(missing(), 'r.html')], /^simdnet: --report: cannot write .*r\.html: the folder .*no-such\/dir does not exist \(simdnet creates files/],
    ['train --checkpoint', () => [...base, '--epochs', '1', '--checkpoint', join(missing(), 'c.ckpt')], /^simdnet: --checkpoint: cannot write .*c\.ckpt: the folder .*no-such\/dir does not exist \(simdnet creates files/],
  ];
  it('(setup) a tfjs export into a new folder whose parent exists is made', () => {
    const r = run(['export', '--format', 'tfjs', '--model', model, '--out', join(tmp.dir, 'tfjs-ok')]);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(join(tmp.dir, 'tfjs-ok')).sort()).toEqual(['model.json', 'weights.bin']);
  });
  for (const [name, args, re] of cases) {
    it(`${name}: a missing parent folder is refused with one line, and nothing is created`, () => {
      const r = run(args());
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(re);
      expect(existsSync(join(tmp.dir, 'no-such'))).toBe(false);
    });
  }
  it('--help states the rule', () => {
    expect(run(['--help']).out).toMatch(/simdnet creates the file \(export: the folder\n--out names\) but never the folders above it/);
  });
});
