/**
 * The simdnet model file, version 1 (documented in docs/file-format.md). Pure: no Node imports, so the
 * browser can save and load models too.
 *
 *   0       8 bytes  magic "SIMDNET\0"
 *   8       u32 LE   format version (1)
 *   12      u32 LE   header length H in bytes
 *   16      H bytes  UTF-8 JSON header (layers, activations, loss, inputScale, tensors, ...)
 *   16+H    0-3 zero bytes so the data starts at a multiple of 4 (D = 16 + H rounded up)
 *   D       tensors: float32 little-endian, row-major, each at D + tensors[i].offset
 *   end-4   u32 LE   CRC-32 (zlib's) of every byte before it
 */
import type { ActivationName } from './backend.js';
import { DataError } from './errors.js';
import { ACTIVATIONS, LOSSES, type LossName, type ModelConfig } from './model.js';
import { largestWeight, overflowWitness } from './finite-outputs.js';

export const MAGIC = [0x53, 0x49, 0x4d, 0x44, 0x4e, 0x45, 0x54, 0x00]; // "SIMDNET\0"
export const FORMAT_VERSION = 1;
/** header JSON larger than this is refused (a real one is a few KB) */
const MAX_HEADER = 1 << 20;

export interface TensorEntry {
  name: string;
  shape: number[];
  /** byte offset from the start of the data section */
  offset: number;
}

export interface FileHeader {
  format: string;
  version: number;
  tensors: TensorEntry[];
  [key: string]: unknown;
}

let crcTable: Uint32Array | null = null;
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** lay out a header and named float32 tensors as one file */
export function encodeFile(fields: Record<string, unknown> & { format: string }, tensors: { name: string; shape: number[]; data: Float32Array }[]): Uint8Array {
  let offset = 0;
  const entries: TensorEntry[] = tensors.map((t) => {
    if (t.data.length !== product(t.shape)) throw new Error(`tensor ${t.name}: ${t.data.length} values for shape ${t.shape}`);
    const e = { name: t.name, shape: t.shape, offset };
    offset += t.data.length * 4;
    return e;
  });
  const header: FileHeader = { ...fields, version: FORMAT_VERSION, tensors: entries };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((16 + json.length) / 4) * 4;
  const bytes = new Uint8Array(dataStart + offset + 4);
  const dv = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, json.length, true);
  bytes.set(json, 16);
  tensors.forEach((t, i) => {
    const at = dataStart + entries[i].offset;
    for (let j = 0; j < t.data.length; j++) dv.setFloat32(at + j * 4, t.data[j], true);
  });
  dv.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** parse and verify a file written by encodeFile; every size is checked against the byte length before anything is allocated */
export function decodeFile(bytes: Uint8Array, file: string, expectFormat: string): { header: FileHeader; tensors: Map<string, Float32Array> } {
  const what = expectFormat === 'simdnet-model' ? 'model' : 'checkpoint';
  if (bytes.length < 20) throw new DataError(file, `too short to be a simdnet ${what} file (${bytes.length} bytes)`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC[i]) throw new DataError(file, `not a simdnet ${what} file (bad magic); pass a file written by simdnet train --save`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw new DataError(file, `unsupported format version ${version} (this simdnet reads version ${FORMAT_VERSION}); re-save it with this version`);
  const stored = dv.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) throw new DataError(file, 'checksum mismatch: the file is corrupt or truncated');
  const hlen = dv.getUint32(12, true);
  if (hlen > MAX_HEADER || 16 + hlen > bytes.length - 4) throw new DataError(file, `header length ${hlen} does not fit in a ${bytes.length}-byte file`);
  let header: FileHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch {
    throw new DataError(file, 'corrupt header (not valid UTF-8 JSON)');
  }
  if (!header || typeof header !== 'object' || header.format !== expectFormat) throw new DataError(file, `not a simdnet ${what} file (format '${String(header?.format)}')`);
  if (!Array.isArray(header.tensors)) throw new DataError(file, 'corrupt header: no tensor table');
  const dataStart = Math.ceil((16 + hlen) / 4) * 4;
  const dataBytes = bytes.length - 4 - dataStart;
  const tensors = new Map<string, Float32Array>();
  let expected = 0;
  const ranges: [number, number, string][] = [];
  for (const t of header.tensors) {
    const ok = t && typeof t.name === 'string' && Array.isArray(t.shape) && t.shape.every((n: unknown) => Number.isInteger(n) && (n as number) >= 0) && Number.isInteger(t.offset) && t.offset >= 0 && t.offset % 4 === 0;
    if (!ok) throw new DataError(file, 'corrupt header: bad tensor entry');
    const n = product(t.shape);
    if (!Number.isSafeInteger(n) || t.offset + n * 4 > dataBytes) throw new DataError(file, `tensor ${t.name} (${t.shape.join('x')}) does not fit in the file's ${dataBytes} data bytes`);
    expected += n * 4;
    if (tensors.has(t.name)) throw new DataError(file, `corrupt header: two tensors are named ${JSON.stringify(t.name)}`);
    ranges.push([t.offset, t.offset + n * 4, t.name]);
    const out = new Float32Array(n);
    const at = dataStart + t.offset;
    for (let j = 0; j < n; j++) out[j] = dv.getFloat32(at + j * 4, true);
    tensors.set(t.name, out);
  }
  if (expected !== dataBytes) throw new DataError(file, `${dataBytes} data bytes but the tensors take ${expected}`);
  // the tensors tile the data section: with the sizes adding up, no two may share bytes
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) throw new DataError(file, `corrupt header: tensors ${ranges[i - 1][2]} and ${ranges[i][2]} overlap (bytes ${ranges[i][0]}..${ranges[i - 1][1] - 1} of the data)`);
  }
  return { header, tensors };
}

export interface SavedModel {
  config: ModelConfig & { layers: number[]; activation: ActivationName[]; loss: LossName; inputScale: number; imageShape: number[] };
  weights: { W: Float32Array; b: Float32Array }[];
  /** free-form facts about the run that made it (epochs, accuracy, settings) */
  meta: Record<string, unknown>;
}

/** what a model file's header holds besides the tensor table */
export function modelFields(m: { layers: number[]; activations: ActivationName[]; loss: LossName; inputScale: number; imageShape: number[] }, meta: Record<string, unknown> = {}) {
  return {
    format: 'simdnet-model',
    layers: m.layers,
    activations: m.activations,
    loss: m.loss,
    inputScale: m.inputScale,
    imageShape: m.imageShape,
    classes: m.layers[m.layers.length - 1],
    meta,
  };
}

export function encodeModel(m: { layers: number[]; activations: ActivationName[]; loss: LossName; inputScale: number; imageShape: number[] }, weights: { W: Float32Array; b: Float32Array }[], meta: Record<string, unknown> = {}): Uint8Array {
  const tensors = weights.flatMap((w, l) => [
    { name: `layers.${l}.W`, shape: [m.layers[l], m.layers[l + 1]], data: w.W },
    { name: `layers.${l}.b`, shape: [m.layers[l + 1]], data: w.b },
  ]);
  return encodeFile(modelFields(m, meta), tensors);
}

/** validate a decoded model header and pull out the config and weights */
export function modelFromDecoded(header: FileHeader, tensors: Map<string, Float32Array>, file: string): SavedModel {
  const h = header as FileHeader & Record<string, any>;
  const layers = h.layers;
  if (!Array.isArray(layers) || layers.length < 2 || !layers.every((n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 1 << 24)) {
    throw new DataError(file, 'corrupt header: bad layer sizes');
  }
  const acts = h.activations;
  if (!Array.isArray(acts) || acts.length !== layers.length - 1 || !acts.every((a: ActivationName) => ACTIVATIONS.includes(a)) || acts[acts.length - 1] !== 'linear') {
    throw new DataError(file, 'corrupt header: bad activations');
  }
  if (!LOSSES.includes(h.loss)) throw new DataError(file, `corrupt header: unknown loss '${h.loss}'`);
  if (typeof h.inputScale !== 'number' || !Number.isFinite(h.inputScale) || h.inputScale <= 0) throw new DataError(file, 'corrupt header: bad inputScale');
  // the header's other facts must agree with the layers (files before these fields: absent is fine)
  const outputs = layers[layers.length - 1];
  if (h.classes !== undefined && h.classes !== outputs) throw new DataError(file, `corrupt header: classes ${JSON.stringify(h.classes)} but the output layer has ${outputs} units`);
  if (h.imageShape !== undefined && !(Array.isArray(h.imageShape) && h.imageShape.length > 0 && h.imageShape.every((n: unknown) => Number.isInteger(n) && (n as number) > 0) && product(h.imageShape) === layers[0])) {
    throw new DataError(file, `corrupt header: imageShape ${JSON.stringify(h.imageShape)} does not describe the first layer's ${layers[0]} inputs`);
  }
  const imageShape = h.imageShape ?? [layers[0]];
  const shapes = new Map<string, number[]>(header.tensors.map((t) => [t.name, t.shape]));
  for (const name of shapes.keys()) {
    const m = /^layers\.(\d+)\.[Wb]$/.exec(name);
    if (!m || Number(m[1]) >= layers.length - 1) throw new DataError(file, `corrupt header: tensor ${JSON.stringify(name)} belongs to no layer of the ${layers.join('-')} network`);
  }
  const weights = [];
  for (let l = 0; l + 1 < layers.length; l++) {
    const W = tensors.get(`layers.${l}.W`), b = tensors.get(`layers.${l}.b`);
    if (!W || W.length !== layers[l] * layers[l + 1] || !b || b.length !== layers[l + 1]) throw new DataError(file, `layer ${l + 1}: weights missing or of the wrong size`);
    const ws = shapes.get(`layers.${l}.W`)!, bs = shapes.get(`layers.${l}.b`)!;
    if (ws.join('x') !== `${layers[l]}x${layers[l + 1]}` || bs.join('x') !== `${layers[l + 1]}`) throw new DataError(file, `corrupt header: layer ${l + 1}'s tensors are ${ws.join('x')} and ${bs.join('x')} but the layers say ${layers[l]}x${layers[l + 1]} and ${layers[l + 1]}`);
    for (const arr of [W, b]) for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i])) throw new DataError(file, `layer ${l + 1} holds a non-finite weight (${arr[i]}); the model is unusable`);
    weights.push({ W, b });
  }
  const witness = overflowWitness({ layers, activations: acts, inputScale: h.inputScale, weights });
  if (witness !== null) throw new DataError(file, `the model's outputs overflow float32 (Inf/NaN) on ${witness} (largest weight ${largestWeight(weights).toExponential(2)}): it cannot predict; use a model whose outputs are finite (a diverged run saves its last weights that are)`);
  return {
    config: { layers, activation: acts.slice(0, -1), loss: h.loss, inputScale: h.inputScale, imageShape },
    weights,
    meta: h.meta && typeof h.meta === 'object' ? h.meta : {},
  };
}

export function decodeModel(bytes: Uint8Array, file = 'model'): SavedModel {
  const { header, tensors } = decodeFile(bytes, file, 'simdnet-model');
  return modelFromDecoded(header, tensors, file);
}
