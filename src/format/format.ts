/**
 * The simdnet model file, version 2 (documented in docs/file-format.md); version 1 files still load.
 * Pure: no Node imports, so the browser can save and load models too.
 *
 *   0       8 bytes  magic "SIMDNET\0"
 *   8       u32 LE   format version (2; model files of version 1 are read too)
 *   12      u32 LE   header length H in bytes
 *   16      H bytes  UTF-8 JSON header (model: { input, layers, loss }, inputScale, tensors, ...)
 *   16+H    0-3 zero bytes so the data starts at a multiple of 4 (D = 16 + H rounded up)
 *   D       tensors: float32 little-endian, row-major, each at D + tensors[i].offset
 *   end-4   u32 LE   CRC-32 (zlib's) of every byte before it
 */
import type { ActivationName } from '../core/backend.js';
import { DataError, SimdnetError } from '../core/errors.js';
import { ACTIVATIONS, LOSSES, buildLayers, checkLayer, denseStack, describeNetwork, shorthandLayers, type LayerDesc, type LossName, type ModelDescription } from '../nn/layers.js';
import { largestWeight, overflowMessage, overflowWitness } from '../nn/finite-outputs.js';

export const MAGIC = [0x53, 0x49, 0x4d, 0x44, 0x4e, 0x45, 0x54, 0x00]; // "SIMDNET\0"
/** version 2: the model as a layer list (header `model`); version 1: widths and activations (read, never written) */
export const FORMAT_VERSION = 2;
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
  if (version === 1 && what === 'checkpoint') throw new DataError(file, 'is a checkpoint of format version 1 (simdnet 0.1, before layer lists), which this version cannot resume: finish that run with simdnet 0.1, or start a new run');
  if (version !== FORMAT_VERSION && !(version === 1 && what === 'model')) throw new DataError(file, `unsupported format version ${version} (this simdnet reads version ${FORMAT_VERSION}${what === 'model' ? ' and 1' : ''}); re-save it with this version`);
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
  header.version = version;
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
  /** what Model takes: the layer list, input shape, loss and input scale */
  config: { layers: LayerDesc[]; inputShape: number[]; loss: LossName; inputScale: number };
  /** the model description the file holds (a version 1 file's widths and activations as a layer list) */
  description: ModelDescription;
  /** each dense layer's weights, in order */
  weights: { W: Float32Array; b: Float32Array }[];
  /** every layer's parameters and buffers by name, 'layers.{i}.{name}' (Model.setLayerTensors takes them) */
  tensors: LayerTensors;
  /** free-form facts about the run that made it (epochs, accuracy, settings) */
  meta: Record<string, unknown>;
  /** the file's format version (1 or 2) */
  version: number;
}

/** a model to save: its description (a Model's config has it), or the widths and activations of a dense stack */
export type ModelToSave =
  | { model: ModelDescription; inputScale: number }
  | { layers: number[]; activations: ActivationName[]; loss: LossName; inputScale: number; imageShape?: number[] };

function descriptionOf(m: ModelToSave): ModelDescription {
  if ('model' in m && m.model) return m.model;
  const d = m as Extract<ModelToSave, { layers: number[] }>;
  return { input: d.imageShape ?? [d.layers[0]], layers: shorthandLayers(d.layers, d.activations, []), loss: d.loss };
}

/** what a model file's header holds besides the tensor table */
export function modelFields(m: ModelToSave, meta: Record<string, unknown> = {}) {
  const model = descriptionOf(m);
  const last = buildLayers(model).at(-1)!;
  return {
    format: 'simdnet-model',
    model,
    inputScale: m.inputScale,
    classes: last.outShape.reduce((a, b) => a * b, 1),
    meta,
  };
}

/** a model's parameters and buffers by name, 'layers.{i}.{name}' (Model.getLayerTensors()) */
export type LayerTensors = Record<string, Float32Array>;

/**
 * A model file (version 2): the header's `model` is the layer list; each layer's parameters and then
 * buffers are the tensors `layers.{i}.{name}`, i its index in the list, in the layer's order (Dense:
 * W (inputs x units), b; Conv2D: W (KH x KW x C x F), b; BatchNorm: gamma, beta, mean, variance).
 * `weights` is every tensor by name (Model.getLayerTensors()), or, for a network whose only layers
 * with tensors are Dense, each dense layer's { W, b } in order (Model.getWeights()).
 */
export function encodeModel(m: ModelToSave, weights: { W: Float32Array; b: Float32Array }[] | LayerTensors, meta: Record<string, unknown> = {}): Uint8Array {
  const fields = modelFields(m, meta);
  const holders = buildLayers(fields.model).filter((l) => l.params.length + l.buffers.length > 0);
  let named: LayerTensors;
  if (Array.isArray(weights)) {
    if (holders.length !== weights.length || holders.some((l) => l.desc.type !== 'dense')) throw new SimdnetError(`encodeModel: ${weights.length} weight sets for ${holders.length} layers with tensors (give a list only for dense layers, else the tensors by name)`);
    named = {};
    holders.forEach((l, k) => {
      named[`layers.${l.index}.W`] = weights[k].W;
      named[`layers.${l.index}.b`] = weights[k].b;
    });
  } else named = weights;
  const tensors = holders.flatMap((l) => [...l.params, ...l.buffers].map((t) => {
    const name = `layers.${l.index}.${t.name}`, data = named[name];
    if (!data) throw new SimdnetError(`encodeModel: no tensor ${name}`);
    return { name, shape: t.shape, data };
  }));
  return encodeFile(fields, tensors);
}

/** a version 1 header's widths and activations as a description (v1 files hold no dropout) */
function v1Description(h: Record<string, any>, file: string): ModelDescription {
  const layers = h.layers;
  if (!Array.isArray(layers) || layers.length < 2 || !layers.every((n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 1 << 24)) {
    throw new DataError(file, 'corrupt header: bad layer sizes');
  }
  const acts = h.activations;
  if (!Array.isArray(acts) || acts.length !== layers.length - 1 || !acts.every((a: ActivationName) => ACTIVATIONS.includes(a)) || acts[acts.length - 1] !== 'linear') {
    throw new DataError(file, 'corrupt header: bad activations');
  }
  // files before imageShape existed: absent is fine
  if (h.imageShape !== undefined && !(Array.isArray(h.imageShape) && h.imageShape.length > 0 && h.imageShape.every((n: unknown) => Number.isInteger(n) && (n as number) > 0) && product(h.imageShape) === layers[0])) {
    throw new DataError(file, `corrupt header: imageShape ${JSON.stringify(h.imageShape)} does not describe the first layer's ${layers[0]} inputs`);
  }
  return { input: h.imageShape ?? [layers[0]], layers: shorthandLayers(layers, acts, []), loss: h.loss };
}

/** a version 2 header's model description, every field checked */
function v2Description(h: Record<string, any>, file: string): ModelDescription {
  return checkDescription(h.model, file);
}

/** a model description read from a file (model or checkpoint): every field checked, the layers chained; one-line DataError */
export function checkDescription(m: any, file: string): ModelDescription {
  if (!m || typeof m !== 'object') throw new DataError(file, 'corrupt header: no model description');
  if (!Array.isArray(m.input) || m.input.length < 1 || !m.input.every((n: unknown) => Number.isInteger(n) && (n as number) >= 1) || !Number.isSafeInteger(product(m.input)) || product(m.input) > 1 << 24) {
    throw new DataError(file, 'corrupt header: bad input shape');
  }
  if (!Array.isArray(m.layers) || m.layers.length < 1) throw new DataError(file, 'corrupt header: no layers');
  let layers: LayerDesc[];
  try {
    layers = m.layers.map((l: unknown, i: number) => checkLayer(l, `layer ${i + 1}`));
  } catch (e) {
    throw new DataError(file, `corrupt header: ${(e as Error).message}`);
  }
  if (!LOSSES.includes(m.loss)) throw new DataError(file, `corrupt header: unknown loss '${m.loss}'`);
  const d: ModelDescription = { input: m.input.slice(), layers, loss: m.loss };
  try {
    buildLayers(d);
  } catch (e) {
    throw new DataError(file, `corrupt header: ${(e as Error).message}`);
  }
  return d;
}

/** validate a decoded model header and pull out the description and weights */
export function modelFromDecoded(header: FileHeader, tensors: Map<string, Float32Array>, file: string): SavedModel {
  const h = header as FileHeader & Record<string, any>;
  const version = typeof h.version === 'number' ? h.version : FORMAT_VERSION;
  const description = version === 1 ? v1Description(h, file) : v2Description(h, file);
  if (!LOSSES.includes(description.loss)) throw new DataError(file, `corrupt header: unknown loss '${description.loss}'`);
  if (typeof h.inputScale !== 'number' || !Number.isFinite(h.inputScale) || h.inputScale <= 0) throw new DataError(file, 'corrupt header: bad inputScale');
  let built;
  try {
    built = buildLayers(description);
  } catch (e) {
    throw new DataError(file, `corrupt header: ${(e as Error).message}`);
  }
  if (!built.some((l) => l.params.length > 0)) throw new DataError(file, 'corrupt header: no layer with weights');
  const holders = built.filter((l) => l.params.length + l.buffers.length > 0);
  // the header's other facts must agree with the layers (files before these fields: absent is fine)
  const outputs = built[built.length - 1].outShape.reduce((a, b) => a * b, 1);
  if (h.classes !== undefined && h.classes !== outputs) throw new DataError(file, `corrupt header: classes ${JSON.stringify(h.classes)} but the output layer has ${outputs} units`);
  // version 1 names a dense layer by its position among the dense layers (they were all there was)
  const names = holders.map((l, k) => (version === 1 ? k : l.index));
  const shapes = new Map<string, number[]>(header.tensors.map((t) => [t.name, t.shape]));
  const known = new Set(holders.flatMap((l, k) => [...l.params, ...l.buffers].map((t) => `layers.${names[k]}.${t.name}`)));
  for (const name of shapes.keys()) {
    if (!known.has(name)) throw new DataError(file, `corrupt header: tensor ${JSON.stringify(name)} belongs to no layer of the ${describeNetwork(description)} network`);
  }
  const named: LayerTensors = {};
  holders.forEach((l, k) => {
    const name = names[k], specs = [...l.params, ...l.buffers];
    const got = specs.map((t) => tensors.get(`layers.${name}.${t.name}`));
    if (specs.some((t, j) => !got[j] || got[j]!.length !== t.shape.reduce((a, b) => a * b, 1))) throw new DataError(file, `layer ${name + 1}: weights missing or of the wrong size`);
    const stored = specs.map((t) => shapes.get(`layers.${name}.${t.name}`)!.join('x')), want = specs.map((t) => t.shape.join('x'));
    if (stored.join() !== want.join()) throw new DataError(file, `corrupt header: layer ${name + 1}'s tensors are ${stored.join(' and ')} but the layers say ${want.join(' and ')}`);
    specs.forEach((t, j) => {
      const arr = got[j]!;
      for (let i = 0; i < arr.length; i++) {
        if (!Number.isFinite(arr[i])) throw new DataError(file, `layer ${name + 1} holds a non-finite ${l.params.includes(t) ? 'weight' : `${t.name} value`} (${arr[i]}); the model is unusable`);
        // a negative running variance would make 1/sqrt(variance + epsilon) NaN
        if (t.name === 'variance' && arr[i] < 0) throw new DataError(file, `layer ${name + 1}'s running variance holds ${arr[i]}, below 0; the model is unusable`);
      }
      named[`layers.${l.index}.${t.name}`] = arr;
    });
  });
  const weights = built.filter((l) => l.desc.type === 'dense').map((l) => ({ W: named[`layers.${l.index}.W`], b: named[`layers.${l.index}.b`] }));
  // finite outputs on every real input (src/nn/finite-outputs.ts takes a stack of dense layers)
  const stack = denseStack(description);
  const witness = stack && overflowWitness({ layers: stack.layers, activations: stack.activations, inputScale: h.inputScale, weights });
  if (witness) throw new DataError(file, overflowMessage(witness, largestWeight(weights)));
  return {
    config: { layers: description.layers, inputShape: description.input, loss: description.loss, inputScale: h.inputScale },
    description,
    weights,
    tensors: named,
    meta: h.meta && typeof h.meta === 'object' ? h.meta : {},
    version,
  };
}

export function decodeModel(bytes: Uint8Array, file = 'model'): SavedModel {
  const { header, tensors } = decodeFile(bytes, file, 'simdnet-model');
  return modelFromDecoded(header, tensors, file);
}
