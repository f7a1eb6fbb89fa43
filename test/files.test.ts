/** src/io/files.ts in process: temporary files a killed writer left, the temporary-folder fallback. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fallbackNote, readRegularFile, removeStaleTemps, writeOrFallback } from '../src/io/files.js';
import { saveCheckpoint } from '../src/io/checkpoint-io.js';
import { writeFileAtomic } from '../src/io/io.js';
import { tempDir } from './helpers/idx-fixtures.js';

const tmp = tempDir('simdnet-files-');
afterAll(() => tmp.remove());

/** the id of a process that has exited */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

/** a file `name` in `dir` last modified `ageMs` ago */
function leftover(dir: string, name: string, ageMs: number): string {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(1000));
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
  return path;
}

describe('temporary files a killed writer left', () => {
  it('writing a file removes its .NAME.PID.tmp / .probe siblings whose process is gone; keeps a live one, a fresh one and other names', () => {
    const dir = tmp.sub('stale');
    const dead = deadPid();
    const hour = 3_600_000;
    leftover(dir, `.run.ckpt.${dead}.tmp`, hour); // a SIGKILLed checkpoint write
    leftover(dir, `.run.ckpt.${dead}.probe`, hour); // killed between the probe and its removal
    leftover(dir, `.run.ckpt.${process.ppid}.tmp`, hour); // a live process: maybe writing right now
    leftover(dir, `.run.ckpt.${dead + 1_000_000_000}.tmp`, 1000); // dead but fresh: maybe a writer in another PID namespace
    leftover(dir, `.other.ckpt.${dead}.tmp`, hour); // another file's: its own writes clean it
    leftover(dir, `.run.ckpt.${dead}.tmp.keep`, hour); // not a name simdnet writes
    writeFileAtomic(join(dir, 'run.ckpt'), new Uint8Array([1, 2, 3]));
    expect(readdirSync(dir).sort()).toEqual([`.other.ckpt.${dead}.tmp`, `.run.ckpt.${dead + 1_000_000_000}.tmp`, `.run.ckpt.${dead}.tmp.keep`, `.run.ckpt.${process.ppid}.tmp`, 'run.ckpt'].sort());
    expect([...readFileSync(join(dir, 'run.ckpt'))]).toEqual([1, 2, 3]);
  });

  it('removeStaleTemps reports what it removed and never throws (a missing folder)', () => {
    const dir = tmp.sub('stale2');
    const dead = deadPid();
    leftover(dir, `.m.simdnet.${dead}.tmp`, 120_000);
    expect(removeStaleTemps(join(dir, 'm.simdnet'))).toEqual([`.m.simdnet.${dead}.tmp`]);
    expect(removeStaleTemps(join(dir, 'no-such-folder', 'm.simdnet'))).toEqual([]);
  });

  it('the checkpoint writer (saveCheckpoint) cleans up too', () => {
    const dir = tmp.sub('stale3');
    const dead = deadPid();
    const orphan = leftover(dir, `.c.ckpt.${dead}.tmp`, 120_000);
    // a minimal valid state: the encoder only needs the fields it writes
    const settings = { layers: [2, 2], activations: ['linear'], loss: 'ce', optimizer: 'sgd', learningRate: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, batchSize: 1, shuffle: true, seed: 1, samples: 1, backend: 'ts', schedule: {}, dropout: [], augment: null, earlyStopping: null };
    saveCheckpoint(join(dir, 'c.ckpt'), { settings, epochsDone: 1, batchInEpoch: 0, step: 1, rng: [1, 2, 3, 4], lossSum: 0, correct: 0, params: new Float32Array(6), opt: [], order: new Int32Array([0]) });
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(join(dir, 'c.ckpt'))).toBe(true);
  });
});

describe('writeOrFallback', () => {
  it('writes where asked; when that fails, to the temporary folder, and says both', () => {
    const ok = writeOrFallback(join(tmp.dir, 'a.bin'), (p) => writeFileAtomic(p, new Uint8Array([7])));
    expect(ok).toEqual({ at: join(tmp.dir, 'a.bin') });
    expect(fallbackNote('the model', join(tmp.dir, 'a.bin'), ok)).toBe('');
    const asked = join(tmp.dir, 'gone', 'b.bin');
    const w = writeOrFallback(asked, (p) => writeFileAtomic(p, new Uint8Array([8])));
    expect(w.failed).toBe('its folder does not exist (ENOENT)');
    expect([...readFileSync(w.at!)]).toEqual([8]);
    rmSync(w.at!);
    expect(fallbackNote('the model', asked, w)).toBe(`could not write the model to ${asked}: its folder does not exist (ENOENT); it was written to ${w.at} instead`);
    const lost = writeOrFallback(asked, () => { throw Object.assign(new Error('x'), { code: 'ENOSPC' }); });
    expect(lost.at).toBeUndefined();
    expect(fallbackNote('the model', asked, lost)).toMatch(/: no space left on the device \(ENOSPC\), nor to the temporary folder: no space left on the device \(ENOSPC\); it is lost$/);
  });
});

describe('readRegularFile', () => {
  it('reads a regular file; refuses one above the limit before reading it, and a device', () => {
    const f = tmp.write('r.bin', new Uint8Array([1, 2, 3, 4]));
    expect([...readRegularFile(f, 'model file')]).toEqual([1, 2, 3, 4]);
    expect(() => readRegularFile(f, 'model file', { maxBytes: 3 })).toThrow(/r\.bin: is 4 bytes, more than the 3-byte limit for a model file$/);
    expect(() => readRegularFile('/dev/zero', 'IDX file')).toThrow(/^\/dev\/zero: is a character device, not a regular file; give the path of an IDX file$/);
    expect(() => readRegularFile(join(tmp.dir, 'nope'), 'model file')).toThrow(/nope: model file not found; check the path$/);
    expect(() => readRegularFile(tmp.dir, 'model file')).toThrow(/: is a folder, not a model file$/);
  });
});
