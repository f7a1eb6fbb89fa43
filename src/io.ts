/** Node-side file IO: atomic writes and model files on disk. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Backend, BackendPreference } from './backend.js';
import { DataError, SimdnetError } from './errors.js';
import { decodeModel, encodeModel, type SavedModel } from './format.js';
import { Model } from './model.js';

/** write to a temporary file beside the target, fsync, rename: a crash leaves the old file intact */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new SimdnetError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check that the folder exists and is writable`);
  }
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new SimdnetError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function readFileChecked(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(path, `${what} not found; check the path`);
    if (code === 'EISDIR') throw new DataError(path, `is a folder, not a ${what}`);
    throw new DataError(path, `cannot read ${what} (${code ?? (e as Error).message})`);
  }
}

export function saveModel(model: Model, path: string, meta: Record<string, unknown> = {}): void {
  writeFileAtomic(path, encodeModel(model.config, model.getWeights(), meta));
}

export function readModelFile(path: string): SavedModel {
  return decodeModel(readFileChecked(path, 'model file'), path);
}

export async function loadModel(path: string, options: { backend?: Backend | BackendPreference } = {}): Promise<{ model: Model; meta: Record<string, unknown> }> {
  const saved = readModelFile(path);
  const model = await Model.create(saved.config, options);
  model.setWeights(saved.weights);
  return { model, meta: saved.meta };
}
