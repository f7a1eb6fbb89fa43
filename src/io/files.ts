/**
 * Node-side file access, one rule each way.
 *
 * Reading: simdnet reads a model, checkpoint, TensorFlow.js model.json or weights file, or IDX file
 * only from a regular file of bounded size. The file is opened non-blocking (a FIFO with no writer
 * cannot stall the open) and checked on the open descriptor (a link to /dev/zero is a character
 * device there), so a folder, FIFO, device or socket gets one line, never a hang.
 *
 * Writing: simdnet creates the file an output path names (for `export --out DIR`, the folder DIR)
 * but never the folders above it (src/io/io.ts checkWritable refuses a missing one up front). A write
 * that fails once the work is done (a full disk, a read-only file system, a permission, a folder
 * that went away) goes to the temporary folder instead (`writeOrFallback`) and the caller says
 * where. Temporary siblings that a killed process left (`.NAME.PID.tmp`) are removed when NAME is
 * next written (`removeStaleTemps`).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DataError, SimdnetError } from '../core/errors.js';

/** the largest file simdnet reads: 2 GiB - 1, what Node and every browser hold in one buffer */
export const MAX_READ_BYTES = 2 ** 31 - 1;

export const errCode = (e: unknown): string | undefined => (typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined);

/** why a file operation failed, in words, with the system's code: 'no space left on the device (ENOSPC)' */
export function fsReason(e: unknown): string {
  const code = errCode(e);
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    ENOENT: 'its folder does not exist',
    ENOTDIR: 'a part of its path is not a folder',
    EISDIR: 'it is a folder',
    EIO: 'input/output error',
  };
  if (code !== undefined && words[code]) return `${words[code]} (${code})`;
  return code ?? (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
}

/** 'a model file', 'an IDX file' */
const a = (what: string): string => `${/^[aeiou]|^IDX/i.test(what) ? 'an' : 'a'} ${what}`;

/** what a non-regular file is, for the error line */
function kind(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** the default line for a file that cannot be opened: the real reason, naming the file */
export function readError(path: string, what: string, e: unknown): DataError {
  switch (errCode(e)) {
    case 'ENOENT':
      return new DataError(path, `${what} not found; check the path`);
    case 'EISDIR':
      return new DataError(path, `is a folder, not ${a(what)}`);
    case 'EACCES':
    case 'EPERM':
      return new DataError(path, `cannot read the ${what}: permission denied; fix the permissions of the file (or of a folder above it)`);
    default:
      return new DataError(path, `cannot read the ${what}: ${fsReason(e)}`);
  }
}

/**
 * Read a whole regular file of at most `maxBytes` bytes. Anything else (a folder, FIFO, device,
 * socket, or a link to one; a larger file) is a one-line DataError naming `path` and `what` it
 * should have been; `openError` words a failed open (default: `readError`).
 */
export function readRegularFile(path: string, what: string, opts: { maxBytes?: number; openError?: (e: unknown) => DataError } = {}): Uint8Array {
  const max = opts.maxBytes ?? MAX_READ_BYTES;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw (opts.openError ?? ((x) => readError(path, what, x)))(e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new DataError(path, `is a folder, not ${a(what)}`);
    if (!st.isFile()) {
      let target = '';
      try {
        if (lstatSync(path).isSymbolicLink()) target = ` (${realpathSync(path)})`;
      } catch { /* the name is enough */ }
      throw new DataError(path, `is ${kind(st)}${target}, not a regular file; give the path of ${a(what)}`);
    }
    if (st.size > max) throw new DataError(path, `is ${st.size} bytes, more than the ${max}-byte limit for ${a(what)}`);
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break; // it shrank while being read: what is there is checked by the decoder
      at += n;
    }
    return at === bytes.length ? bytes : bytes.subarray(0, at);
  } catch (e) {
    if (e instanceof SimdnetError) throw e;
    throw readError(path, what, e);
  } finally {
    closeSync(fd);
  }
}

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM'; // it exists, under another user
  }
};

/** a temporary sibling younger than this may belong to a live writer in another PID namespace */
const STALE_MS = 60_000;

/**
 * Remove `.NAME.PID.tmp` and `.NAME.PID.probe` beside `path` (what src/io/io.ts writes before it
 * renames) whose process is gone and which are older than a minute: a process killed (SIGKILL,
 * power loss) during a write leaves them. Returns the names removed; never throws.
 */
export function removeStaleTemps(path: string, now = Date.now()): string[] {
  const dir = dirname(path), prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.(tmp|probe)$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pid < 2 || isAlive(pid)) continue;
    const full = join(dir, name);
    try {
      const st = statSync(full);
      if (!st.isFile() || now - st.mtimeMs < STALE_MS) continue;
      unlinkSync(full);
      removed.push(name);
    } catch { /* gone already, or not ours to remove */ }
  }
  return removed;
}

/** a path in the temporary folder for an output that could not be written where it was asked */
export function fallbackPath(path: string): string {
  return join(tmpdir(), `simdnet-${Date.now()}-${process.pid}-${basename(path) || 'output'}`);
}

export interface Written {
  /** where the output is: the path asked for, the fallback, or undefined when both failed */
  at: string | undefined;
  /** why the path asked for could not be written (undefined: it was) */
  failed?: string;
  /** why the fallback could not be written either */
  fallbackFailed?: string;
}

/**
 * `write(path)`; when that throws, `write` again to a path in the temporary folder. Never throws
 * for a write error: the result says where the output went and why.
 */
export function writeOrFallback(path: string, write: (p: string) => void): Written {
  try {
    write(path);
    return { at: path };
  } catch (first) {
    const failed = fsReason(first);
    const other = fallbackPath(path);
    try {
      write(other);
      return { at: other, failed };
    } catch (second) {
      return { at: undefined, failed, fallbackFailed: fsReason(second) };
    }
  }
}

/** one clause for a `Written`: '' when it went where asked */
export function fallbackNote(what: string, asked: string, w: Written): string {
  if (w.failed === undefined) return '';
  if (w.at !== undefined) return `could not write ${what} to ${asked}: ${w.failed}; it was written to ${w.at} instead`;
  return `could not write ${what} to ${asked}: ${w.failed}, nor to the temporary folder: ${w.fallbackFailed}; it is lost`;
}

/** an output written to the temporary folder (or lost) because its path failed: the message says where */
export class FallbackError extends SimdnetError {
  constructor(
    message: string,
    /** where the output is now (undefined: nowhere) */
    readonly writtenTo: string | undefined,
  ) {
    super(message, 2);
    this.name = 'FallbackError';
  }
}
