/** Node side of src/interop.ts: read simdnet model files and TensorFlow.js folders, write the exports. */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { DataError, SimdnetError } from './errors.js';
import { encodeModel, type SavedModel } from './format.js';
import { fromTfjs, toOnnx, toTfjs, type ExportableModel } from './interop.js';
import { checkDistinct, readFileChecked, readModelFile, writeFileAtomic } from './io.js';

export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** a decoded model file as an export's input */
export function exportableFromSaved(saved: SavedModel): ExportableModel {
  return { layers: saved.config.layers, activations: [...saved.config.activation, 'linear'], loss: saved.config.loss, inputScale: saved.config.inputScale, weights: saved.weights };
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new SimdnetError(`cannot create the folder ${dir}: a file of that name (or of a folder above it) is in the way; give --out a folder path that is not a file`);
    throw new SimdnetError(`cannot create the folder ${dir}: ${code ?? (e as Error).message}`);
  }
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
    ensureDir(out);
    const jsonPath = join(out, 'model.json'), binPath = join(out, 'weights.bin');
    for (const f of [jsonPath, binPath]) checkDistinct(f, '--out', [['the model file being exported', modelFile]]);
    writeFileAtomic(binPath, weightsBin);
    writeFileAtomic(jsonPath, new TextEncoder().encode(JSON.stringify(modelJson)));
    return [jsonPath, binPath];
  }
  const file = extname(out).toLowerCase() === '.onnx' ? out : join(out, 'model.onnx');
  checkDistinct(file, '--out', [['the model file being exported', modelFile]]);
  ensureDir(dirname(file));
  writeFileAtomic(file, toOnnx(m, { producerVersion: version }));
  return [file];
}

/** read a TensorFlow.js layers model: `path` is its folder (holding model.json) or the model.json itself */
export function readTfjsModel(path: string): ExportableModel {
  return readTfjs(path).model;
}

/** the model and the files it was read from (model.json, then the weight files) */
function readTfjs(path: string): { model: ExportableModel; files: string[] } {
  let jsonPath = path;
  try {
    if (statSync(path).isDirectory()) jsonPath = join(path, 'model.json');
  } catch {
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

/** convert a TensorFlow.js dense Sequential model into a simdnet model file */
export function importTfjsModel(path: string, out: string): ExportableModel {
  const { model: m, files } = readTfjs(path);
  checkDistinct(out, '--out', files.map((f, i): [string, string] => [i ? `a weights file of the model being imported (${f})` : 'the model.json being imported', f]));
  writeFileAtomic(out, encodeModel({ ...m, imageShape: [m.layers[0]] }, m.weights, { importedFrom: path, format: 'tfjs' }));
  return m;
}
