/** Node-side file IO: atomic writes and model files on disk. */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import type { Backend, BackendPreference } from '../core/backend.js';
import { DataError, SimdnetError, UsageError } from '../core/errors.js';
import { largestWeight, overflowMessage, predictWitness } from '../nn/finite-outputs.js';
import { denseStack } from '../nn/layers.js';
import { decodeModel, encodeModel, type SavedModel } from '../format/format.js';
import { Model } from '../train/model.js';
import { readRegularFile, removeStaleTemps } from './files.js';

/** a write error that keeps the system's code (ENOSPC, EACCES, ...) for the caller's fallback line */
const writeError = (message: string, e: unknown) => Object.assign(new SimdnetError(message), { code: (e as NodeJS.ErrnoException).code });

/** write to a temporary file beside the target, fsync, rename: a crash leaves the old file intact */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  removeStaleTemps(path); // what a killed writer of this file left
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw writeError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check that the folder exists and is writable`, e);
  }
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw writeError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw writeError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check that it is not a folder and that its folder is writable`, e);
  }
  // the rename lives in the folder's entry: sync it too, so a crash right after cannot lose the file
  // (best effort: some systems, Windows among them, cannot open or sync a folder)
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* not supported here */ }
}

/**
 * check up front (before minutes of training) that `path` can be written: it is not a folder and
 * a file can be created beside it; throws a one-line SimdnetError (exit 2) naming `flag`, ending
 * in `consequence`. The rule for every output path: simdnet creates the file, never the folders
 * above it, so a missing folder is refused here.
 */
export function checkWritable(path: string, flag: string, example = 'report.html', consequence = 'nothing was trained'): void {
  if (path === '') throw new SimdnetError(`${flag} needs a file name`);
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new SimdnetError(`${flag}: ${path} is a folder; give a file name, e.g. ${join(path, example)}`);
    // a device or FIFO would be replaced by the rename (as root even /dev/null)
    if (!st.isFile()) throw new SimdnetError(`${flag}: ${path} is not a regular file (a device, FIFO or socket); give a file name; ${consequence}`);
  } catch (e) {
    if (e instanceof SimdnetError) throw e; // else it does not exist (or its folder does not): the probe below says which
  }
  const probe = join(dirname(path), `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `the folder ${dirname(path)} does not exist (simdnet creates files, not folders: create it first)` : code === 'ENOTDIR' ? `${dirname(path)} is not a folder` : code === 'EACCES' || code === 'EPERM' ? `the folder ${dirname(path)} is not writable (permission denied)` : code === 'EROFS' ? `the folder ${dirname(path)} is on a read-only file system` : `${code ?? (e as Error).message}`;
    throw new SimdnetError(`${flag}: cannot write ${path}: ${why}; ${consequence}`);
  }
  try { unlinkSync(probe); } catch { /* already gone */ }
}

/** true when a and b name the same file: the same path, or one existing file reached through a link */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a), y = statSync(b);
    return x.ino !== 0 && x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false; // one of them does not exist yet
  }
}

/**
 * refuse an output path that names a file the command also reads or writes under another role
 * (`others`: [role, path]), before anything is trained or written; one line naming both
 */
export function checkDistinct(out: string, flag: string, others: [string, string | undefined][]): void {
  for (const [role, path] of others) {
    if (path !== undefined && path !== '' && sameFile(out, path)) {
      throw new UsageError(`${flag} ${out} is also ${role}: writing it would overwrite that; give ${flag} another file name`);
    }
  }
}

/** a whole regular file of bounded size (src/io/files.ts): anything else is one line naming it */
export function readFileChecked(path: string, what: string): Uint8Array {
  return readRegularFile(path, what);
}

export function saveModel(model: Model, path: string, meta: Record<string, unknown> = {}): void {
  writeFileAtomic(path, encodeModel(model.config, model.getLayerTensors(), meta));
}

export function readModelFile(path: string): SavedModel {
  return decodeModel(readFileChecked(path, 'model file'), path);
}

export async function loadModel(path: string, options: { backend?: Backend | BackendPreference; threads?: number } = {}): Promise<{ model: Model; meta: Record<string, unknown> }> {
  const saved = readModelFile(path);
  const model = await Model.create(saved.config, options);
  model.setLayerTensors(saved.tensors);
  // a dense stack's outputs were checked by decodeModel; any other network (a CNN) is run on witness images
  if (!denseStack(saved.description)) {
    const witness = predictWitness((x, n) => model.predict(x, n), model.inputs);
    if (witness) {
      model.dispose();
      throw new DataError(path, overflowMessage(witness, largestWeight(Object.entries(saved.tensors).filter(([k]) => !/\.(mean|variance)$/.test(k)).map(([, W]) => ({ W, b: [] })))));
    }
  }
  return { model, meta: saved.meta };
}
