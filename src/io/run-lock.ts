/**
 * A lock file beside a checkpoint (`FILE.lock`, holding the pid of the process that uses FILE), so
 * that two runs never write one checkpoint (the second one's refused before any work, instead of one
 * run's checkpoints silently replacing the other's). Created with O_EXCL; a lock whose process is no
 * longer running (killed with SIGKILL, power loss) is taken over with a note. Released by its
 * holder on every way out: `release()`, and at process exit (also `process.exit()` after a second
 * signal), never when another process holds it.
 */
import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SimdnetError } from '../core/errors.js';
import { errCode, fsReason, isAlive } from './files.js';

export interface RunLock {
  /** the lock file */
  readonly path: string;
  /** remove the lock file if this process still holds it; never throws */
  release(): void;
}

/** the path of the lock for `file`: beside the file itself when it is reached through a link */
export function lockPathOf(file: string): string {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    try {
      real = join(realpathSync(dirname(file)), basename(file));
    } catch {
      real = resolve(file);
    }
  }
  return `${real}.lock`;
}

const held = new Set<string>();
let exitHook = false;

const readPid = (path: string): number | null => {
  try {
    const m = /^(\d+)\s*$/.exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

const removeIfMine = (path: string): void => {
  if (!held.delete(path)) return;
  try {
    if (readPid(path) === process.pid) unlinkSync(path);
  } catch { /* gone already */ }
};

/** a short wait without the event loop (a lock just created holds its pid within microseconds) */
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * take the lock of `file`; `inUse(pid)` is the one-line message when another live process holds it
 * (exit 2); `note` is told when a stale lock is taken over. `readOnly`: the caller only reads `file`
 * and no lock can be made beside it (a missing or read-only folder, where no run can write `file`
 * either): then it goes without (null) instead of refusing
 */
export function lockFile(file: string, inUse: (pid: number, lock: string) => string, note: (line: string) => void, readOnly = false): RunLock | null {
  const path = lockPathOf(file);
  if (!held.has(path)) {
    for (let attempt = 0; ; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx', 0o644);
      } catch (e) {
        if (errCode(e) !== 'EEXIST') {
          if (readOnly) return null;
          throw new SimdnetError(`cannot create the lock file ${path} beside ${file}: ${fsReason(e)}; nothing was trained`);
        }
        let pid = readPid(path);
        if (pid === null) {
          sleep(100); // its creator may be writing its pid right now
          pid = readPid(path);
        }
        if (pid !== null && pid !== process.pid && isAlive(pid)) throw new SimdnetError(inUse(pid, path));
        if (attempt >= 3) throw new SimdnetError(`cannot take over the lock file ${path} beside ${file}: it keeps changing; remove it if no simdnet run uses ${file}`);
        note(`took over the lock file ${path}: ${pid === null ? 'it held no process id' : `process ${pid}, which left it, is no longer running`}`);
        try { unlinkSync(path); } catch { /* another process took it over first: the next attempt sees its lock */ }
        continue;
      }
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (e) {
        try { unlinkSync(path); } catch { /* gone already */ }
        if (readOnly) return null;
        throw new SimdnetError(`cannot write the lock file ${path} beside ${file}: ${fsReason(e)}; nothing was trained`);
      } finally {
        closeSync(fd);
      }
      held.add(path);
      break;
    }
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const p of [...held]) removeIfMine(p);
      });
    }
  }
  return { path, release: () => removeIfMine(path) };
}
