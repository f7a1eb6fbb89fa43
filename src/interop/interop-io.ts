/** Node side of src/interop/interop.ts: read simdnet model files and TensorFlow.js folders, write the exports. */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { DataError, SimdnetError } from '../core/errors.js';
import { decodeModel, encodeModel, type SavedModel } from '../format/format.js';
import { fromTfjs, toOnnx, toTfjs, type ExportableNet } from './interop.js';
import { checkDistinct, checkWritable, readFileChecked, readModelFile, writeFileAtomic } from '../io/io.js';
import { FallbackError, fallbackNote, fsReason, readError, writeOrFallback } from '../io/files.js';

export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** a decoded model file as an export's input */
export function exportableFromSaved(saved: SavedModel): ExportableNet {
  return { model: saved.description, inputScale: saved.config.inputScale, tensors: saved.tensors };
}

/**
 * create the output folder `dir` itself (the rule for every output: simdnet creates what --out
 * names, never the folders above it); an existing folder is fine
 */
function makeOutputDir(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return;
      throw new SimdnetError(`cannot create the folder ${dir}: a file of that name is in the way; give --out a folder path that is not a file`);
    }
    if (code === 'ENOENT') throw new SimdnetError(`--out: cannot create the folder ${dir}: the folder ${dirname(dir)} does not exist (simdnet creates the folder --out names, not the folders above it: create it first); nothing was written`);
    if (code === 'ENOTDIR') throw new SimdnetError(`cannot create the folder ${dir}: a file of that name (or of a folder above it) is in the way; give --out a folder path that is not a file`);
    throw new SimdnetError(`--out: cannot create the folder ${dir}: ${fsReason(e)}; nothing was written`);
  }
}

/** write with the temporary-folder fallback; a fallback is an error that says where the output went */
function writeOutput(path: string, what: string, write: (p: string) => void): void {
  const w = writeOrFallback(path, write);
  if (w.failed !== undefined) throw new FallbackError(fallbackNote(what, path, w), w.at);
}

/**
 * Convert the simdnet model file `modelFile`. tfjs: `out` is a folder, given model.json and
 * weights.bin. onnx: `out` is the .onnx file when it ends in .onnx, else a folder given model.onnx.
 * Returns the paths written.
 */
export function exportModelFile(modelFile: string, format: ExportFormat, out: string, version = '0'): string[] {
  if (!EXPORT_FORMATS.includes(format)) throw new SimdnetError(`unknown export format '${String(format)}'; use one of ${EXPORT_FORMATS.join(', ')}`);
  const m = exportableFromSaved(readModelFile(modelFile));
  if (format === 'tfjs') {
    const { modelJson, weightsBin } = toTfjs(m, { generatedBy: `simdnet ${version}` });
    const jsonPath = join(out, 'model.json'), binPath = join(out, 'weights.bin');
    for (const f of [jsonPath, binPath]) checkDistinct(f, '--out', [['the model file being exported', modelFile]]);
    makeOutputDir(out);
    writeOutput(out, 'the TensorFlow.js model', (dir) => {
      if (dir !== out) mkdirSync(dir); // the fallback folder
      writeFileAtomic(join(dir, 'weights.bin'), weightsBin);
      writeFileAtomic(join(dir, 'model.json'), new TextEncoder().encode(JSON.stringify(modelJson)));
    });
    return [jsonPath, binPath];
  }
  const bytes = toOnnx(m, { producerVersion: version }); // before anything is created: a model the format cannot express leaves no folder
  const named = extname(out).toLowerCase() === '.onnx';
  const file = named ? out : join(out, 'model.onnx');
  checkDistinct(file, '--out', [['the model file being exported', modelFile]]);
  if (named) checkWritable(file, '--out', 'model.onnx', 'nothing was written');
  else makeOutputDir(out);
  writeOutput(file, 'the ONNX model', (p) => writeFileAtomic(p, bytes));
  return [file];
}

/** read a TensorFlow.js layers model: `path` is its folder (holding model.json) or the model.json itself */
export function readTfjsModel(path: string): ExportableNet {
  return readTfjs(path).model;
}

/** the model and the files it was read from (model.json, then the weight files) */
function readTfjs(path: string): { model: ExportableNet; files: string[] } {
  let jsonPath = path;
  try {
    if (statSync(path).isDirectory()) jsonPath = join(path, 'model.json');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw readError(path, 'TensorFlow.js model folder', e);
    throw new DataError(path, 'not found; pass the folder holding model.json, or the model.json file');
  }
  const text = new TextDecoder().decode(readFileChecked(jsonPath, 'TensorFlow.js model.json'));
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataError(jsonPath, 'not valid JSON; pass a TensorFlow.js layers model.json');
  }
  const paths: string[] = Array.isArray(json?.weightsManifest) ? json.weightsManifest.flatMap((g: any) => (Array.isArray(g?.paths) ? g.paths : [])) : [];
  const dir = dirname(resolve(jsonPath));
  const files = [jsonPath];
  const parts = paths.map((p) => {
    const full = typeof p === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(p) ? resolve(dir, p) : '';
    if (!full.startsWith(dir + sep)) throw new DataError(jsonPath, `weight path ${JSON.stringify(p)} is not a file in the model's folder`);
    files.push(full);
    return readFileChecked(full, 'TensorFlow.js weights file');
  });
  const total = parts.reduce((a, b) => a + b.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { model: fromTfjs(json, all, jsonPath), files };
}

/** convert a TensorFlow.js Sequential model into a simdnet model file */
export function importTfjsModel(path: string, out: string): ExportableNet {
  const { model: m, files } = readTfjs(path);
  checkDistinct(out, '--out', files.map((f, i): [string, string] => [i ? `a weights file of the model being imported (${f})` : 'the model.json being imported', f]));
  checkWritable(out, '--out', 'model.simdnet', 'nothing was written');
  const bytes = encodeModel({ model: m.model, inputScale: m.inputScale }, m.tensors, { importedFrom: path, format: 'tfjs' });
  decodeModel(bytes, path); // the checks every model file passes when it is loaded (finite outputs, running variances)
  writeOutput(out, 'the model', (p) => writeFileAtomic(p, bytes));
  return m;
}
