/**
 * Export to TensorFlow.js (layers model) and ONNX, and import of TensorFlow.js dense Sequential
 * models. Pure: no Node imports, so browsers can convert too (src/interop/interop-io.ts writes the files).
 *
 * Both exports take pixels scaled to [0, 1] (u8 / 255), flattened: simdnet's own input scale
 * (`inputScale`, 1/255 by default) is folded into the first layer's weights, W1' = W1 * inputScale * 255.
 * The output is what simdnet's `predict` returns: softmax probabilities for `ce` models, sigmoid
 * outputs for `mse` models.
 */
import type { ActivationName } from '../core/backend.js';
import { DataError, SimdnetError } from '../core/errors.js';
import type { LossName } from '../nn/model.js';
import { largestWeight, overflowWitness } from '../nn/finite-outputs.js';

/** what an export needs: a Model's `config` and `getWeights()`, or a decoded model file */
export interface ExportableModel {
  /** [inputs, ...hidden, classes] */
  layers: number[];
  /** one per layer, the last 'linear' (the loss applies softmax or sigmoid) */
  activations: ActivationName[];
  loss: LossName;
  /** multiplier simdnet applies to u8 pixels (1/255 by default) */
  inputScale: number;
  /** W: (inputs, outputs) row-major; b: (outputs) */
  weights: { W: Float32Array; b: Float32Array }[];
}

const HIDDEN_ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'tanh', 'linear'];

function check(m: ExportableModel): void {
  const L = m.layers.length - 1;
  if (L < 1 || m.weights.length !== L || m.activations.length !== L) throw new SimdnetError(`cannot export: ${m.layers.length} layer sizes, ${m.weights.length} weight sets and ${m.activations.length} activations do not agree`);
  for (let l = 0; l < L; l++) {
    if (m.weights[l].W.length !== m.layers[l] * m.layers[l + 1] || m.weights[l].b.length !== m.layers[l + 1]) throw new SimdnetError(`cannot export: layer ${l + 1}'s weights have the wrong size`);
    if (!HIDDEN_ACTIVATIONS.includes(m.activations[l])) throw new SimdnetError(`cannot export: unknown activation '${m.activations[l]}'`);
  }
  if (m.activations[L - 1] !== 'linear') throw new SimdnetError(`cannot export: the output layer's activation must be linear (the loss applies ${m.loss === 'ce' ? 'softmax' : 'sigmoid'})`);
  if (m.loss !== 'ce' && m.loss !== 'mse') throw new SimdnetError(`cannot export: unknown loss '${m.loss}'`);
}

/** the weights with the input scale folded into the first layer, for inputs in [0, 1] */
export function unitInputWeights(m: ExportableModel): { W: Float32Array; b: Float32Array }[] {
  check(m);
  const k = m.inputScale * 255;
  return m.weights.map((w, l) => {
    if (l > 0 || k === 1) return { W: w.W.slice(), b: w.b.slice() };
    const W = new Float32Array(w.W.length);
    for (let i = 0; i < W.length; i++) W[i] = w.W[i] * k;
    return { W, b: w.b.slice() };
  });
}

/** the activation after each layer, the output layer's being what predict returns */
function layerActivations(m: ExportableModel): ('sigmoid' | 'relu' | 'tanh' | 'linear' | 'softmax')[] {
  const acts: ('sigmoid' | 'relu' | 'tanh' | 'linear' | 'softmax')[] = m.activations.slice(0, -1);
  acts.push(m.loss === 'ce' ? 'softmax' : 'sigmoid');
  return acts;
}

function f32Bytes(arrays: Float32Array[]): Uint8Array {
  const n = arrays.reduce((a, x) => a + x.length, 0);
  const out = new Uint8Array(n * 4);
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++, at += 4) dv.setFloat32(at, a[i], true);
  return out;
}

// ---- TensorFlow.js ------------------------------------------------------------------------------

export interface TfjsArtifacts {
  /** the contents of model.json */
  modelJson: TfjsModelJson;
  /** the contents of weights.bin (every weight, float32 little-endian, in manifest order) */
  weightsBin: Uint8Array;
}

export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: { class_name: string; config: { name: string; layers: { class_name: string; config: Record<string, unknown> }[] }; keras_version?: string; backend?: string };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

/** a TensorFlow.js layers model (Sequential of Dense layers) equivalent to simdnet's predict on [0, 1] pixels */
export function toTfjs(m: ExportableModel, options: { weightsFile?: string; generatedBy?: string } = {}): TfjsArtifacts {
  const weights = unitInputWeights(m);
  const acts = layerActivations(m);
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const layers = weights.map((_, l) => {
    const name = `dense_${l + 1}`;
    specs.push({ name: `${name}/kernel`, shape: [m.layers[l], m.layers[l + 1]], dtype: 'float32' }, { name: `${name}/bias`, shape: [m.layers[l + 1]], dtype: 'float32' });
    const config: Record<string, unknown> = {
      units: m.layers[l + 1],
      activation: acts[l],
      use_bias: true,
      kernel_initializer: { class_name: 'Zeros', config: {} },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: true,
      dtype: 'float32',
    };
    if (l === 0) config.batch_input_shape = [null, m.layers[0]];
    return { class_name: 'Dense', config };
  });
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: options.generatedBy ?? 'simdnet',
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: 'simdnet', layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [options.weightsFile ?? 'weights.bin'], weights: specs }],
    },
    weightsBin: f32Bytes(weights.flatMap((w) => [w.W, w.b])),
  };
}

/**
 * A simdnet model from a TensorFlow.js layers model: a Sequential of Dense layers (an InputLayer,
 * a leading Flatten and Dropout layers are skipped; an Activation layer after a linear Dense becomes
 * that Dense's activation), hidden activations sigmoid/relu/tanh/linear, the last one
 * softmax (-> loss ce) or sigmoid (-> loss mse), float32 weights. The model is taken to expect
 * inputs in [0, 1], so inputScale is 1/255. `weightData` is every file of the manifest's paths,
 * concatenated in order. Anything else is a one-line DataError naming `where`.
 */
export function fromTfjs(modelJson: unknown, weightData: Uint8Array, where = 'model.json'): ExportableModel {
  const bad = (problem: string) => new DataError(where, problem);
  const j = modelJson as Record<string, any>;
  if (!j || typeof j !== 'object') throw bad('not a TensorFlow.js model.json (not a JSON object)');
  let topo = j.modelTopology;
  if (topo && typeof topo === 'object' && topo.model_config) topo = topo.model_config; // Keras-converted files
  if (!topo || typeof topo !== 'object') throw bad('no modelTopology: not a TensorFlow.js layers model (graph models cannot be imported)');
  if (topo.class_name !== 'Sequential') throw bad(`the model is a ${String(topo.class_name)}; simdnet imports Sequential models of Dense layers only`);
  const rawLayers = Array.isArray(topo.config) ? topo.config : topo.config?.layers;
  if (!Array.isArray(rawLayers)) throw bad('corrupt modelTopology: no layer list');
  const specs: { name: string; shape: number[]; dtype: string; offset: number }[] = [];
  if (!Array.isArray(j.weightsManifest)) throw bad('no weightsManifest');
  let offset = 0;
  for (const group of j.weightsManifest) {
    for (const w of group?.weights ?? []) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((n: unknown) => Number.isInteger(n) && (n as number) >= 0)) throw bad('corrupt weightsManifest entry');
      if (w.dtype !== 'float32' || w.quantization) throw bad(`weight ${w.name} is ${w.quantization ? 'quantized' : String(w.dtype)}; only float32 weights can be imported`);
      specs.push({ name: w.name, shape: w.shape, dtype: w.dtype, offset });
      offset += w.shape.reduce((a: number, b: number) => a * b, 1) * 4;
    }
  }
  if (offset !== weightData.length) throw bad(`the manifest lists ${offset} bytes of weights but the weight files hold ${weightData.length}`);
  const dv = new DataView(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  const read = (s: (typeof specs)[number]) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(s.offset + i * 4, true);
    return out;
  };
  const dense: { name: string; units: number; activation: string; useBias: boolean; inputs?: number }[] = [];
  let inputs: number | undefined;
  rawLayers.forEach((layer: any, i: number) => {
    const cls = layer?.class_name, c = layer?.config ?? {};
    const shape = c.batch_input_shape ?? c.batch_shape;
    if (Array.isArray(shape) && dense.length === 0) inputs = shape.slice(1).reduce((a: number, b: number) => a * b, 1);
    if (cls === 'InputLayer' || (cls === 'Flatten' && dense.length === 0) || cls === 'Dropout') return; // dropout: identity at inference
    if (cls === 'Activation' && dense.length > 0 && dense[dense.length - 1].activation === 'linear' && typeof c.activation === 'string') {
      dense[dense.length - 1].activation = c.activation; // Dense(linear) then Activation(a) is Dense(a)
      return;
    }
    if (cls !== 'Dense') throw bad(`unsupported layer ${i + 1}: ${String(cls)}; simdnet imports Dense layers only (and InputLayer, a leading Flatten, Dropout, an Activation after a linear Dense)`);
    if (!Number.isInteger(c.units) || c.units < 1) throw bad(`layer ${i + 1} (Dense): bad units ${JSON.stringify(c.units)}`);
    dense.push({ name: String(c.name), units: c.units, activation: c.activation ?? 'linear', useBias: c.use_bias !== false });
  });
  if (dense.length === 0) throw bad('the model has no Dense layers');
  const L = dense.length;
  const last = dense[L - 1].activation;
  if (last !== 'softmax' && last !== 'sigmoid') throw bad(`the last Dense layer's activation is ${last}; simdnet needs softmax (cross-entropy) or sigmoid (squared error)`);
  const activations: ActivationName[] = [];
  for (let l = 0; l < L - 1; l++) {
    const a = dense[l].activation;
    if (!HIDDEN_ACTIVATIONS.includes(a as ActivationName)) throw bad(`layer ${dense[l].name}: unsupported activation '${a}'; simdnet supports ${HIDDEN_ACTIVATIONS.join(', ')}`);
    activations.push(a as ActivationName);
  }
  activations.push('linear');
  const used = new Set<string>();
  const find = (layer: string, kind: 'kernel' | 'bias') => {
    const s = specs.find((w) => !used.has(w.name) && (w.name === `${layer}/${kind}` || w.name.endsWith(`/${layer}/${kind}`)));
    if (s) used.add(s.name);
    return s;
  };
  const weights: { W: Float32Array; b: Float32Array }[] = [];
  const layers: number[] = [];
  for (let l = 0; l < L; l++) {
    const k = find(dense[l].name, 'kernel');
    if (!k || k.shape.length !== 2 || k.shape[1] !== dense[l].units) throw bad(`layer ${dense[l].name}: no ${dense[l].name}/kernel of shape [inputs, ${dense[l].units}] in the weights manifest`);
    const fanIn = k.shape[0];
    if (l === 0) {
      if (inputs !== undefined && inputs !== fanIn) throw bad(`the input shape has ${inputs} values but the first kernel takes ${fanIn}`);
      layers.push(fanIn);
    } else if (fanIn !== layers[l]) throw bad(`layer ${dense[l].name}: the kernel takes ${fanIn} inputs but the previous layer has ${layers[l]} units`);
    layers.push(dense[l].units);
    let b = new Float32Array(dense[l].units);
    if (dense[l].useBias) {
      const bs = find(dense[l].name, 'bias');
      if (!bs || bs.shape.length !== 1 || bs.shape[0] !== dense[l].units) throw bad(`layer ${dense[l].name}: no ${dense[l].name}/bias of shape [${dense[l].units}] in the weights manifest`);
      b = read(bs);
    } else {
      const stray = find(dense[l].name, 'bias');
      if (stray) throw bad(`layer ${dense[l].name} has use_bias: false but the weights manifest has ${stray.name}; fix use_bias or the manifest (it would be dropped)`);
    }
    const W = read(k);
    for (const arr of [W, b]) for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i])) throw bad(`layer ${dense[l].name} holds a non-finite weight (${arr[i]})`);
    weights.push({ W, b });
  }
  const unused = specs.filter((w) => !used.has(w.name));
  if (unused.length) throw bad(`the weights manifest has ${unused.map((w) => w.name).join(', ')}, which no Dense layer uses; it would be dropped`);
  if (last === 'softmax' && layers[L] < 2) throw bad('a softmax output needs at least 2 units');
  const witness = overflowWitness({ layers, activations, inputScale: 1 / 255, weights });
  if (witness !== null) throw bad(`the model's outputs overflow float32 (Inf/NaN) on ${witness} (pixels scaled to [0, 1]; largest weight ${largestWeight(weights).toExponential(2)}); simdnet imports models whose outputs are finite`);
  return { layers, activations, loss: last === 'softmax' ? 'ce' : 'mse', inputScale: 1 / 255, weights };
}

// ---- ONNX ----------------------------------------------------------------------------------------

/** a minimal protobuf writer: varints (non-negative), length-delimited fields, fixed32 floats */
class Pb {
  private parts: Uint8Array[] = [];
  private size = 0;
  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  private varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`protobuf varint out of range: ${n}`);
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    return this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  int(field: number, n: number): this {
    return this.tag(field, 0).varint(n);
  }
  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, 2).varint(b.length).push(b);
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  float(field: number, x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return this.tag(field, 5).push(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const ONNX_FLOAT = 1; // TensorProto.DataType.FLOAT
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 13;

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9) */
function tensorProto(name: string, dims: number[], data: Float32Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  return t.int(2, ONNX_FLOAT).string(8, name).bytes(9, f32Bytes([data]));
}

/** ValueInfoProto: name (1), type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2) -> dim (1) -> dim_value (1) | dim_param (2) */
function valueInfo(name: string, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().int(1, ONNX_FLOAT).message(2, shape);
  return new Pb().string(1, name).message(2, new Pb().message(1, tensorType));
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5) */
function node(op: string, name: string, inputs: string[], outputs: string[], intAttrs: Record<string, number> = {}): Pb {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  // AttributeProto: name (1), i (3), type (20) = INT (2)
  for (const [k, v] of Object.entries(intAttrs)) n.message(5, new Pb().string(1, k).int(3, v).int(20, 2));
  return n;
}

const ONNX_OPS: Record<string, string> = { sigmoid: 'Sigmoid', relu: 'Relu', tanh: 'Tanh', softmax: 'Softmax' };

/**
 * An ONNX model (IR version 8, opset 13) equivalent to simdnet's predict on [0, 1] pixels: input
 * `pixels` (N, inputs) float, output `probabilities` (N, classes); per layer a Gemm (X·W + b) and
 * its activation node (none for linear).
 */
export function toOnnx(m: ExportableModel, options: { producerVersion?: string } = {}): Uint8Array {
  const weights = unitInputWeights(m);
  const acts = layerActivations(m);
  const L = weights.length;
  const graph = new Pb();
  let x = 'pixels';
  for (let l = 0; l < L; l++) {
    const last = l === L - 1;
    const z = acts[l] === 'linear' && last ? 'probabilities' : `layer${l + 1}_linear`;
    graph.message(1, node('Gemm', `gemm_${l + 1}`, [x, `layer${l + 1}.W`, `layer${l + 1}.b`], [z]));
    x = z;
    if (acts[l] !== 'linear') {
      const y = last ? 'probabilities' : `layer${l + 1}_${acts[l]}`;
      graph.message(1, node(ONNX_OPS[acts[l]], `${acts[l]}_${l + 1}`, [x], [y], acts[l] === 'softmax' ? { axis: 1 } : {}));
      x = y;
    }
  }
  graph.string(2, 'simdnet');
  weights.forEach((w, l) => {
    graph.message(5, tensorProto(`layer${l + 1}.W`, [m.layers[l], m.layers[l + 1]], w.W));
    graph.message(5, tensorProto(`layer${l + 1}.b`, [m.layers[l + 1]], w.b));
  });
  graph.string(10, `simdnet MLP ${m.layers.join('-')}; input: pixels scaled to [0, 1]; output: ${m.loss === 'ce' ? 'softmax probabilities' : 'sigmoid outputs'}`);
  graph.message(11, valueInfo('pixels', ['N', m.layers[0]]));
  graph.message(12, valueInfo('probabilities', ['N', m.layers[L]]));
  // ModelProto: ir_version (1), producer_name (2), producer_version (3), graph (7), opset_import (8) -> domain (1), version (2)
  const model = new Pb().int(1, ONNX_IR_VERSION).string(2, 'simdnet').string(3, options.producerVersion ?? '0').message(7, graph).message(8, new Pb().string(1, '').int(2, ONNX_OPSET));
  return model.finish();
}
