/**
 * Export to TensorFlow.js (layers model) and ONNX, and import of TensorFlow.js Sequential models:
 * dense stacks and CNNs (Conv2D, pooling, global average pooling, Flatten, BatchNormalization,
 * Dense, Dropout, Activation). Pure: no Node imports, so browsers can convert too
 * (src/interop/interop-io.ts writes the files).
 *
 * Both exports take pixels scaled to [0, 1] (u8 / 255): images [N, H, W, C] (NHWC, what simdnet
 * feeds its layers; an input shape [H, W] is one channel) when the network has a convolution,
 * pooling or an image batch norm, else flattened [N, features]. simdnet's own input scale
 * (`inputScale`, 1/255 by default) is folded into the first layer with weights,
 * W' = W * inputScale * 255. The output is what simdnet's `predict` returns: softmax probabilities
 * for `ce` models, sigmoid outputs for `mse` models.
 */
import { conv2dShape, type ActivationName } from '../core/backend.js';
import { DataError, SimdnetError } from '../core/errors.js';
import { denseStack, shorthandLayers, type LayerDesc, type LossName } from '../nn/layers.js';
import { largestWeight, overflowWitness } from '../nn/finite-outputs.js';

/** what an export of a stack of dense layers takes: a Model's `config` and `getWeights()`, or a decoded model file */
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

// The CNN layer descriptors (issue 22), as files, checkpoints and exporters store them.
export interface Conv2DDesc { type: 'conv2d'; filters: number; kernel: [number, number]; stride: number; padding: 'valid' | 'same'; activation: ActivationName }
export interface Pool2DDesc { type: 'maxpool2d' | 'avgpool2d'; size: number; stride: number; padding: 'valid' | 'same' }
export interface GlobalAvgPoolDesc { type: 'globalavgpool' }
export interface FlattenDesc { type: 'flatten' }
export interface BatchNormDesc { type: 'batchnorm'; momentum: number; epsilon: number }
/** a layer an export takes */
export type NetLayer = LayerDesc | Conv2DDesc | Pool2DDesc | GlobalAvgPoolDesc | FlattenDesc | BatchNormDesc;

/** any layer list an export takes: a model description and each layer's tensors */
export interface ExportableNet {
  /** the shape of one input ([H, W] is one channel, [H, W, C], or [features]), the layers, the loss */
  model: { input: number[]; layers: NetLayer[]; loss: LossName };
  /** multiplier simdnet applies to u8 pixels (1/255 by default) */
  inputScale: number;
  /**
   * every layer's tensors by name, 'layers.{i}.{name}' (i its index in the list), as model files and
   * Model.getLayerTensors() name them: dense W (inputs, units) and b (units); conv2d W (KH, KW, C, F)
   * (HWIO) and b (F); batchnorm gamma, beta, mean, variance (C)
   */
  tensors: Record<string, Float32Array>;
}

const HIDDEN_ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'tanh', 'linear'];
const SPATIAL = new Set(['conv2d', 'maxpool2d', 'avgpool2d', 'globalavgpool']);
const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

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

/** a dense stack, a Model's config with its dense weights, or a layer list with its tensors, as a layer list */
export function exportableNet(m: ExportableModel | ExportableNet | (ExportableModel & { model: ExportableNet['model'] })): ExportableNet {
  if ('tensors' in m && m.tensors && typeof m.tensors === 'object') return m as ExportableNet;
  const s = m as ExportableModel & { model?: ExportableNet['model'] };
  /** the dense weights { W, b }, in order, named after the dense layers of `layers` */
  const named = (layers: NetLayer[]) => {
    const tensors: Record<string, Float32Array> = {};
    let k = 0;
    layers.forEach((d, i) => {
      if (d.type !== 'dense') return;
      const w = s.weights[k++];
      if (w) (tensors[`layers.${i}.W`] = w.W), (tensors[`layers.${i}.b`] = w.b);
    });
    if (k !== s.weights.length) throw new SimdnetError(`cannot export: ${s.weights.length} weight sets for ${k} dense layers; give a network with other layers as { model, inputScale, tensors } (Model.getLayerTensors())`);
    return tensors;
  };
  // a Model's config with getWeights(): its layer list
  if (s.model && Array.isArray(s.model.layers)) return { model: s.model, inputScale: s.inputScale, tensors: named(s.model.layers) };
  check(s);
  const layers = shorthandLayers(s.layers, s.activations, []);
  return { model: { input: [s.layers[0]], layers, loss: s.loss }, inputScale: s.inputScale, tensors: named(layers) };
}

/** one layer of a network as the exporters walk it */
interface Step {
  index: number;
  layer: NetLayer;
  /** the input's shape ([H, W, C] or [features]) and the output's */
  inShape: number[];
  outShape: number[];
  tensors: Record<string, Float32Array>;
}

/** a network checked for export: image input or flat, the input shape, each layer with its shapes */
interface Plan {
  image: boolean;
  /** [H, W, C] for image inputs, [features] else */
  input: number[];
  steps: Step[];
  loss: LossName;
}

function layerName(d: NetLayer, i: number): string {
  return `layer ${i + 1} (${d.type})`;
}

/** the shapes through the network, every layer's parameters and tensor sizes checked */
function plan(net: ExportableNet): Plan {
  const { model } = net;
  if (model.loss !== 'ce' && model.loss !== 'mse') throw new SimdnetError(`cannot export: unknown loss '${String(model.loss)}'`);
  if (!Array.isArray(model.layers) || model.layers.length === 0) throw new SimdnetError('cannot export: the network has no layers');
  const byLayer: Record<string, Float32Array>[] = model.layers.map(() => ({}));
  for (const [key, a] of Object.entries(net.tensors)) {
    const m = /^layers\.(\d+)\.(\w+)$/.exec(key);
    if (!m || Number(m[1]) >= model.layers.length) throw new SimdnetError(`cannot export: tensor ${key} belongs to no layer (names are layers.{index}.{name}, index < ${model.layers.length})`);
    byLayer[Number(m[1])][m[2]] = a;
  }
  const inp = model.input;
  if (!Array.isArray(inp) || inp.length < 1 || inp.length > 3 || !inp.every((n) => Number.isInteger(n) && n > 0)) throw new SimdnetError(`cannot export: input shape ${JSON.stringify(inp)} is not [features], [H, W] or [H, W, C]`);
  const image3 = inp.length === 1 ? null : inp.length === 2 ? [inp[0], inp[1], 1] : inp.slice();
  // an image input when a layer works on the image's pixels before anything flattens it
  let image = false;
  if (image3) {
    for (const d of model.layers) {
      if (SPATIAL.has(d.type) || d.type === 'batchnorm') image = true;
      if (image || d.type === 'dense' || d.type === 'flatten') break;
    }
  }
  const input = image ? image3! : [product(inp)];
  let shape = input;
  const steps: Step[] = model.layers.map((d, i) => {
    const where = layerName(d, i);
    const bad = (problem: string) => new SimdnetError(`cannot export: ${where}: ${problem}`);
    const t = byLayer[i];
    const want: [string, number[]][] = [];
    const inShape = shape;
    const spatialIn = () => {
      if (inShape.length !== 3) throw bad(`takes an image (H x W x C) but its input is ${inShape.join('x')}`);
      return inShape;
    };
    const act = (a: ActivationName) => {
      if (!HIDDEN_ACTIVATIONS.includes(a)) throw bad(`unknown activation '${String(a)}'`);
    };
    const window = (k: number, s: number, padding: string) => {
      if (!Number.isInteger(k) || k < 1 || !Number.isInteger(s) || s < 1) throw bad(`bad size ${k} or stride ${s}`);
      if (padding !== 'valid' && padding !== 'same') throw bad(`unknown padding '${padding}'`);
    };
    switch (d.type) {
      case 'dense': {
        act(d.activation);
        want.push(['W', [product(inShape), d.units]], ['b', [d.units]]);
        shape = [d.units];
        break;
      }
      case 'conv2d': {
        const [H, W, C] = spatialIn();
        const [KH, KW] = d.kernel;
        window(KH, d.stride, d.padding);
        window(KW, d.stride, d.padding);
        act(d.activation);
        if (d.padding === 'valid' && (KH > H || KW > W)) throw bad(`a ${KH}x${KW} kernel does not fit a ${H}x${W} input`);
        const { OH, OW } = conv2dShape(H, W, KH, KW, d.stride, d.padding === 'same');
        want.push(['W', [KH, KW, C, d.filters]], ['b', [d.filters]]);
        shape = [OH, OW, d.filters];
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const [H, W, C] = spatialIn();
        window(d.size, d.stride, d.padding);
        if (d.padding === 'valid' && (d.size > H || d.size > W)) throw bad(`a ${d.size}x${d.size} window does not fit a ${H}x${W} input`);
        const { OH, OW } = conv2dShape(H, W, d.size, d.size, d.stride, d.padding === 'same');
        shape = [OH, OW, C];
        break;
      }
      case 'globalavgpool':
        shape = [spatialIn()[2]];
        break;
      case 'flatten':
        shape = [product(inShape)];
        break;
      case 'batchnorm': {
        const C = inShape[inShape.length - 1];
        if (!(d.epsilon > 0) || !(d.momentum >= 0 && d.momentum <= 1)) throw bad(`bad epsilon ${d.epsilon} or momentum ${d.momentum}`);
        want.push(['gamma', [C]], ['beta', [C]], ['mean', [C]], ['variance', [C]]);
        break;
      }
      case 'activation':
        act(d.activation);
        break;
      case 'dropout':
        break;
      default:
        throw new SimdnetError(`cannot export: layer ${i + 1}: unknown layer type '${String((d as { type: unknown }).type)}'`);
    }
    for (const [name, dims] of want) {
      const a = t[name];
      if (!(a instanceof Float32Array) || a.length !== product(dims)) throw bad(`its ${name} should hold ${dims.join('x')} values, ${a instanceof Float32Array ? `it holds ${a.length}` : 'it is missing'}`);
    }
    const extra = Object.keys(t).filter((k) => !want.some(([n]) => n === k));
    if (extra.length) throw bad(`has no tensor ${extra.join(', ')}`);
    return { index: i, layer: d, inShape, outShape: shape, tensors: t };
  });
  if (!steps.some((s) => s.layer.type === 'dense' || s.layer.type === 'conv2d')) throw new SimdnetError('cannot export: the network has no layer with weights');
  return { image, input, steps, loss: model.loss };
}

/**
 * each layer's tensors with the input scale folded into the first layer with weights (a dense or a
 * conv2d), for inputs in [0, 1]: the layers before it must commute with a positive factor
 */
function unitInputTensors(p: Plan, inputScale: number): Record<string, Float32Array>[] {
  if (!(inputScale > 0 && Number.isFinite(inputScale))) throw new SimdnetError(`cannot export: bad inputScale ${inputScale}`);
  const k = inputScale * 255;
  const out = p.steps.map((s) => Object.fromEntries(Object.entries(s.tensors).map(([n, a]) => [n, a.slice()])));
  if (k === 1) return out;
  for (const s of p.steps) {
    const d = s.layer;
    if (d.type === 'dense' || d.type === 'conv2d') {
      const W = out[s.index].W;
      for (let i = 0; i < W.length; i++) W[i] *= k;
      return out;
    }
    const homogeneous = d.type !== 'batchnorm' && (d.type !== 'activation' || d.activation === 'relu' || d.activation === 'linear');
    if (!homogeneous) throw new SimdnetError(`cannot export: inputScale ${inputScale} (not 1/255) cannot be folded past ${layerName(d, s.index)}; train with the default inputScale`);
  }
  return out;
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

const ZEROS = { class_name: 'Zeros', config: {} };
const ONES = { class_name: 'Ones', config: {} };
const NO_REGULARIZERS = { kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null };

/**
 * a TensorFlow.js layers model (a Sequential, channels_last) equivalent to simdnet's predict on
 * [0, 1] pixels. Takes a stack of dense layers (ExportableModel), a Model's config with its
 * weights, or any layer list with its tensors (ExportableNet).
 */
export function toTfjs(m: ExportableModel | ExportableNet, options: { weightsFile?: string; generatedBy?: string } = {}): TfjsArtifacts {
  const net = exportableNet(m);
  const p = plan(net);
  const tensors = unitInputTensors(p, net.inputScale);
  const layers: { class_name: string; config: Record<string, unknown> }[] = [];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const data: Float32Array[] = [];
  const counts = new Map<string, number>();
  const add = (cls: string, prefix: string, config: Record<string, unknown>, weights: [string, number[], Float32Array][] = []) => {
    const n = (counts.get(prefix) ?? 0) + 1;
    counts.set(prefix, n);
    const name = `${prefix}_${n}`;
    for (const [w, shape, values] of weights) {
      specs.push({ name: `${name}/${w}`, shape, dtype: 'float32' });
      data.push(values);
    }
    const c: Record<string, unknown> = { ...config, name, trainable: true, dtype: 'float32' };
    if (layers.length === 0) c.batch_input_shape = [null, ...p.input];
    layers.push({ class_name: cls, config: c });
  };
  let rank = p.input.length;
  const flatten = () => {
    if (rank > 1) add('Flatten', 'flatten', { data_format: 'channels_last' });
    rank = 1;
  };
  for (const s of p.steps) {
    const d = s.layer, t = tensors[s.index];
    switch (d.type) {
      case 'dense':
        flatten(); // simdnet's Dense reads its input flattened (NHWC order, as Keras's Flatten); a Keras Dense would act on the last axis only
        add('Dense', 'dense', { units: d.units, activation: d.activation, use_bias: true, kernel_initializer: ZEROS, bias_initializer: ZEROS, ...NO_REGULARIZERS }, [['kernel', [product(s.inShape), d.units], t.W], ['bias', [d.units], t.b]]);
        break;
      case 'conv2d':
        add('Conv2D', 'conv2d', {
          filters: d.filters, kernel_size: d.kernel.slice(), strides: [d.stride, d.stride], padding: d.padding, data_format: 'channels_last', dilation_rate: [1, 1],
          activation: d.activation, use_bias: true, kernel_initializer: ZEROS, bias_initializer: ZEROS, ...NO_REGULARIZERS,
        }, [['kernel', [d.kernel[0], d.kernel[1], s.inShape[2], d.filters], t.W], ['bias', [d.filters], t.b]]);
        break;
      case 'maxpool2d':
      case 'avgpool2d':
        add(d.type === 'maxpool2d' ? 'MaxPooling2D' : 'AveragePooling2D', d.type === 'maxpool2d' ? 'max_pooling2d' : 'average_pooling2d', { pool_size: [d.size, d.size], strides: [d.stride, d.stride], padding: d.padding, data_format: 'channels_last' });
        break;
      case 'globalavgpool':
        add('GlobalAveragePooling2D', 'global_average_pooling2d', { data_format: 'channels_last' });
        rank = 1;
        break;
      case 'flatten':
        flatten();
        break;
      case 'batchnorm': {
        const C = s.inShape[s.inShape.length - 1];
        add('BatchNormalization', 'batch_normalization', {
          axis: -1, momentum: d.momentum, epsilon: d.epsilon, center: true, scale: true,
          beta_initializer: ZEROS, gamma_initializer: ONES, moving_mean_initializer: ZEROS, moving_variance_initializer: ONES,
          beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
        }, [['gamma', [C], t.gamma], ['beta', [C], t.beta], ['moving_mean', [C], t.mean], ['moving_variance', [C], t.variance]]);
        break;
      }
      case 'activation':
        if (d.activation !== 'linear') add('Activation', 'activation', { activation: d.activation });
        break;
      case 'dropout':
        add('Dropout', 'dropout', { rate: d.rate, noise_shape: null, seed: null });
        break;
    }
  }
  // the loss's softmax or sigmoid: the last Dense's activation when it is linear, else a layer of its own
  flatten();
  const out = p.loss === 'ce' ? 'softmax' : 'sigmoid';
  const last = layers[layers.length - 1];
  const lastStep = p.steps[p.steps.length - 1].layer;
  if (last.class_name === 'Dense' && lastStep.type === 'dense' && last.config.activation === 'linear') last.config.activation = out;
  else add('Activation', 'activation', { activation: out });
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: options.generatedBy ?? 'simdnet',
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: 'simdnet', layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [options.weightsFile ?? 'weights.bin'], weights: specs }],
    },
    weightsBin: f32Bytes(data),
  };
}

const TFJS_IMPORTS = 'InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, BatchNormalization, Dense, Dropout, Activation (channels_last)';

/** an integer pair from a Keras size field (n or [a, b]) */
function pair(v: unknown): [number, number] | null {
  const a = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  return a && a.every((n) => Number.isInteger(n) && n >= 1) ? [a[0], a[1]] : null;
}

/**
 * A simdnet network from a TensorFlow.js layers model: a Sequential of the layers TFJS_IMPORTS
 * names, channels_last. An InputLayer and a leading Flatten are skipped (the model then reads
 * flattened inputs); the last layer's activation, softmax (-> loss ce) or sigmoid (-> loss mse), becomes the loss; hidden
 * activations sigmoid/relu/tanh/linear; float32 weights. The model is taken to expect inputs in
 * [0, 1], so inputScale is 1/255; an image input [H, W, 1] becomes [H, W]. `weightData` is every
 * file of the manifest's paths, concatenated in order. Anything else is a one-line DataError naming
 * `where`.
 */
export function fromTfjs(modelJson: unknown, weightData: Uint8Array, where = 'model.json'): ExportableNet {
  const bad = (problem: string) => new DataError(where, problem);
  const j = modelJson as Record<string, any>;
  if (!j || typeof j !== 'object') throw bad('not a TensorFlow.js model.json (not a JSON object)');
  let topo = j.modelTopology;
  if (topo && typeof topo === 'object' && topo.model_config) topo = topo.model_config; // Keras-converted files
  if (!topo || typeof topo !== 'object') throw bad('no modelTopology: not a TensorFlow.js layers model (graph models cannot be imported)');
  if (topo.class_name !== 'Sequential') throw bad(`the model is a ${String(topo.class_name)}; simdnet imports Sequential models of ${TFJS_IMPORTS}`);
  const rawLayers = Array.isArray(topo.config) ? topo.config : topo.config?.layers;
  if (!Array.isArray(rawLayers)) throw bad('corrupt modelTopology: no layer list');
  const specs: { name: string; shape: number[]; offset: number }[] = [];
  if (!Array.isArray(j.weightsManifest)) throw bad('no weightsManifest');
  let offset = 0;
  for (const group of j.weightsManifest) {
    for (const w of group?.weights ?? []) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((n: unknown) => Number.isInteger(n) && (n as number) >= 0)) throw bad('corrupt weightsManifest entry');
      if (w.dtype !== 'float32' || w.quantization) throw bad(`weight ${w.name} is ${w.quantization ? 'quantized' : String(w.dtype)}; only float32 weights can be imported`);
      specs.push({ name: w.name, shape: w.shape, offset });
      offset += product(w.shape) * 4;
    }
  }
  if (offset !== weightData.length) throw bad(`the manifest lists ${offset} bytes of weights but the weight files hold ${weightData.length}`);
  const dv = new DataView(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  const used = new Set<string>();
  /** the weight `layer/kind` of the expected shape (undefined when absent and optional) */
  const weight = (layer: string, kind: string, shape: number[], optional = false): Float32Array | undefined => {
    const s = specs.find((w) => !used.has(w.name) && (w.name === `${layer}/${kind}` || w.name.endsWith(`/${layer}/${kind}`)));
    if (!s) {
      if (optional) return undefined;
      throw bad(`layer ${layer}: no ${layer}/${kind} of shape [${shape.join(', ')}] in the weights manifest`);
    }
    if (s.shape.join(',') !== shape.join(',')) throw bad(`layer ${layer}: ${s.name} has shape [${s.shape.join(', ')}], expected [${shape.join(', ')}]`);
    used.add(s.name);
    const out = new Float32Array(product(shape));
    for (let i = 0; i < out.length; i++) {
      out[i] = dv.getFloat32(s.offset + i * 4, true);
      if (!Number.isFinite(out[i])) throw bad(`layer ${layer} holds a non-finite weight (${out[i]})`);
    }
    return out;
  };

  const layers: NetLayer[] = [];
  const perLayer: Record<string, Float32Array>[] = [];
  const names: string[] = [];
  /** the input shape (no batch axis), as given or as the first Dense's kernel implies */
  let input: number[] | undefined;
  /** the current shape; undefined until known */
  let shape: number[] | undefined;
  let flattenedInput = false;
  rawLayers.forEach((layer: any, i: number) => {
    const cls = layer?.class_name, c = layer?.config ?? {};
    const name = typeof c.name === 'string' ? c.name : `${String(cls)}_${i + 1}`;
    const at = `layer ${i + 1} (${String(cls)} ${name})`;
    const no = (problem: string) => bad(`${at}: ${problem}`);
    const given = c.batch_input_shape ?? c.batch_shape;
    if (Array.isArray(given) && layers.length === 0 && input === undefined) {
      const dims = given.slice(1);
      if (dims.length < 1 || dims.length > 3 || !dims.every((n: unknown) => Number.isInteger(n) && (n as number) >= 1)) throw no(`input shape ${JSON.stringify(given)}: simdnet needs fixed sizes [features], [H, W] or [H, W, C]`);
      input = dims;
      shape = dims;
    }
    if (c.data_format !== undefined && c.data_format !== null && c.data_format !== 'channels_last') throw no(`data_format ${String(c.data_format)}; simdnet imports channels_last (NHWC) models only`);
    const push = (d: NetLayer, t: Record<string, Float32Array> = {}) => {
      layers.push(d);
      perLayer.push(t);
      names.push(name);
    };
    const activationOf = (a: unknown): string => (a === undefined || a === null ? 'linear' : String(a));
    const image = (): [number, number, number] => {
      if (!shape) throw no('no input shape before it: give the first layer an inputShape [H, W, C]');
      if (shape.length !== 3) throw no(`takes an image (H x W x C) but its input is ${shape.join('x')}`);
      return shape as [number, number, number];
    };
    const stride = (v: unknown, dflt: number): number => {
      const s = v === undefined || v === null ? [dflt, dflt] : pair(v);
      if (!s || s[0] !== s[1]) throw no(`strides ${JSON.stringify(v)}; simdnet takes one stride for both axes`);
      return s[0];
    };
    const padding = (v: unknown): 'valid' | 'same' => {
      const p = v ?? 'valid';
      if (p !== 'valid' && p !== 'same') throw no(`padding ${JSON.stringify(v)}; simdnet supports valid and same`);
      return p;
    };
    switch (cls) {
      case 'InputLayer':
        return;
      case 'Dropout': {
        const rate = c.rate ?? 0;
        if (!(typeof rate === 'number' && rate >= 0 && rate < 1)) throw no(`rate ${JSON.stringify(c.rate)}; simdnet takes rates in [0, 1)`);
        if (c.noise_shape) throw no('noise_shape is not supported');
        push({ type: 'dropout', rate });
        return;
      }
      case 'Flatten':
        if (layers.length === 0 && !flattenedInput) {
          flattenedInput = true; // the model reads flattened inputs, as simdnet's dense layers do
          if (shape) shape = [product(shape)];
          return;
        }
        if (shape) shape = [product(shape)];
        push({ type: 'flatten' });
        return;
      case 'Activation': {
        push({ type: 'activation', activation: activationOf(c.activation) as ActivationName });
        return;
      }
      case 'Dense': {
        if (!Number.isInteger(c.units) || c.units < 1) throw no(`bad units ${JSON.stringify(c.units)}`);
        if (shape && shape.length > 1) throw no(`its input is ${shape.join('x')}: a Keras Dense acts on the last axis only, simdnet's dense reads its input flattened; add a Flatten before it`);
        const s = specs.find((w) => !used.has(w.name) && (w.name === `${name}/kernel` || w.name.endsWith(`/${name}/kernel`)));
        const fanIn = shape ? shape[0] : s && s.shape.length === 2 ? s.shape[0] : undefined;
        if (fanIn === undefined) throw no(`no ${name}/kernel of shape [inputs, ${c.units}] in the weights manifest`);
        if (!shape) {
          input = [fanIn];
          shape = [fanIn];
        }
        const W = weight(name, 'kernel', [fanIn, c.units])!;
        const b = c.use_bias === false ? undefined : weight(name, 'bias', [c.units]);
        if (c.use_bias === false) {
          const stray = specs.find((w) => !used.has(w.name) && (w.name === `${name}/bias` || w.name.endsWith(`/${name}/bias`)));
          if (stray) throw bad(`layer ${name} has use_bias: false but the weights manifest has ${stray.name}; fix use_bias or the manifest (it would be dropped)`);
        }
        push({ type: 'dense', units: c.units, activation: activationOf(c.activation) as ActivationName }, { W, b: b ?? new Float32Array(c.units) });
        shape = [c.units];
        return;
      }
      case 'Conv2D': {
        const [H, W, C] = image();
        const k = pair(c.kernel_size);
        if (!k) throw no(`kernel_size ${JSON.stringify(c.kernel_size)}`);
        if (!Number.isInteger(c.filters) || c.filters < 1) throw no(`bad filters ${JSON.stringify(c.filters)}`);
        const dil = c.dilation_rate === undefined ? [1, 1] : pair(c.dilation_rate);
        if (!dil || dil[0] !== 1 || dil[1] !== 1) throw no(`dilation_rate ${JSON.stringify(c.dilation_rate)}; simdnet convolutions are not dilated`);
        if (c.groups !== undefined && c.groups !== 1) throw no(`groups ${JSON.stringify(c.groups)}; simdnet convolutions are not grouped`);
        const S = stride(c.strides, 1), pad = padding(c.padding);
        if (pad === 'valid' && (k[0] > H || k[1] > W)) throw no(`a ${k[0]}x${k[1]} kernel does not fit its ${H}x${W} input`);
        const Wt = weight(name, 'kernel', [k[0], k[1], C, c.filters])!;
        const b = c.use_bias === false ? new Float32Array(c.filters) : weight(name, 'bias', [c.filters])!;
        push({ type: 'conv2d', filters: c.filters, kernel: k, stride: S, padding: pad, activation: activationOf(c.activation) as ActivationName }, { W: Wt, b });
        const { OH, OW } = conv2dShape(H, W, k[0], k[1], S, pad === 'same');
        shape = [OH, OW, c.filters];
        return;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [H, W, C] = image();
        const k = pair(c.pool_size ?? [2, 2]);
        if (!k || k[0] !== k[1]) throw no(`pool_size ${JSON.stringify(c.pool_size)}; simdnet pools square windows`);
        const S = stride(c.strides, k[0]), pad = padding(c.padding);
        if (pad === 'valid' && (k[0] > H || k[0] > W)) throw no(`a ${k[0]}x${k[0]} window does not fit its ${H}x${W} input`);
        push({ type: cls === 'MaxPooling2D' ? 'maxpool2d' : 'avgpool2d', size: k[0], stride: S, padding: pad });
        const { OH, OW } = conv2dShape(H, W, k[0], k[0], S, pad === 'same');
        shape = [OH, OW, C];
        return;
      }
      case 'GlobalAveragePooling2D': {
        const C = image()[2];
        if (c.keepdims) throw no('keepdims is not supported');
        push({ type: 'globalavgpool' });
        shape = [C];
        return;
      }
      case 'BatchNormalization': {
        if (!shape) throw no('no input shape before it: give the first layer an inputShape');
        const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : c.axis ?? -1;
        if (axis !== -1 && axis !== shape.length) throw no(`axis ${JSON.stringify(c.axis)}; simdnet normalises the last axis (channels_last)`);
        const C = shape[shape.length - 1];
        const momentum = c.momentum ?? 0.99, epsilon = c.epsilon ?? 0.001;
        if (!(typeof momentum === 'number' && momentum >= 0 && momentum <= 1) || !(typeof epsilon === 'number' && epsilon > 0)) throw no(`momentum ${JSON.stringify(c.momentum)} or epsilon ${JSON.stringify(c.epsilon)} out of range`);
        const gamma = c.scale === false ? new Float32Array(C).fill(1) : weight(name, 'gamma', [C])!;
        const beta = c.center === false ? new Float32Array(C) : weight(name, 'beta', [C])!;
        const mean = weight(name, 'moving_mean', [C])!, variance = weight(name, 'moving_variance', [C])!;
        for (let q = 0; q < C; q++) if (!(variance[q] >= 0)) throw bad(`layer ${name}: moving_variance ${variance[q]} is negative`);
        push({ type: 'batchnorm', momentum, epsilon }, { gamma, beta, mean, variance });
        return;
      }
      default:
        throw bad(`unsupported layer ${i + 1}: ${String(cls)}; simdnet imports ${TFJS_IMPORTS}`);
    }
  });
  // the last activation is the loss's: softmax -> ce, sigmoid -> mse
  while (layers.length && layers[layers.length - 1].type === 'activation' && (layers[layers.length - 1] as { activation: string }).activation === 'linear') {
    layers.pop();
    perLayer.pop();
    names.pop();
  }
  const last = layers[layers.length - 1];
  if (!last) throw bad('the model has no layers');
  if (!layers.some((d) => d.type === 'dense' || d.type === 'conv2d')) throw bad('the model has no Dense or Conv2D layer');
  const lastAct = 'activation' in last ? String(last.activation) : 'linear';
  if (lastAct !== 'softmax' && lastAct !== 'sigmoid') throw bad(`the last layer (${names[names.length - 1]})'s activation is ${lastAct}; simdnet needs softmax (cross-entropy) or sigmoid (squared error)`);
  if (shape && shape.length !== 1) throw bad(`the output is ${shape.join('x')}; simdnet needs one value per class (add a Flatten or GlobalAveragePooling2D)`);
  if (last.type === 'activation') {
    layers.pop();
    perLayer.pop();
    names.pop();
  } else (last as { activation: string }).activation = 'linear';
  layers.forEach((d, k) => {
    if ('activation' in d && !HIDDEN_ACTIVATIONS.includes(d.activation)) throw bad(`layer ${names[k]}: unsupported activation '${d.activation}'; simdnet supports ${HIDDEN_ACTIVATIONS.join(', ')} (and softmax or sigmoid on the last layer)`);
  });
  const unused = specs.filter((w) => !used.has(w.name));
  if (unused.length) throw bad(`the weights manifest has ${unused.map((w) => w.name).join(', ')}, which no layer uses; it would be dropped`);
  const outputs = shape![0];
  if (lastAct === 'softmax' && outputs < 2) throw bad('a softmax output needs at least 2 units');
  // the input: flattened when the model flattens first or starts with a Dense; an image of one channel is [H, W]
  let inShape = input!;
  if (flattenedInput || layers.findIndex((d) => d.type !== 'dropout' && d.type !== 'activation') === layers.findIndex((d) => d.type === 'dense')) inShape = [product(inShape)];
  else if (inShape.length === 3 && inShape[2] === 1) inShape = inShape.slice(0, 2);
  const tensors: Record<string, Float32Array> = {};
  perLayer.forEach((t, i) => Object.entries(t).forEach(([n, a]) => (tensors[`layers.${i}.${n}`] = a)));
  const net: ExportableNet = { model: { input: inShape, layers, loss: lastAct === 'softmax' ? 'ce' : 'mse' }, inputScale: 1 / 255, tensors };
  const stack = denseStackOf(net);
  if (stack) {
    const weights = stack.weights;
    const witness = overflowWitness({ layers: stack.layers, activations: stack.activations, inputScale: 1 / 255, weights });
    if (witness !== null) throw bad(`the model's outputs overflow float32 (Inf/NaN) on ${witness} (pixels scaled to [0, 1]; largest weight ${largestWeight(weights).toExponential(2)}); simdnet imports models whose outputs are finite`);
  }
  return net;
}

/** a network as a stack of dense layers (ExportableModel), or null when it has other layers */
export function denseStackOf(net: ExportableNet): ExportableModel | null {
  if (!net.model.layers.every((d) => d.type === 'dense' || d.type === 'activation' || d.type === 'dropout')) return null;
  const stack = denseStack(net.model as { input: number[]; layers: LayerDesc[]; loss: LossName });
  if (!stack) return null;
  const weights = net.model.layers.flatMap((d, i) => (d.type === 'dense' ? [{ W: net.tensors[`layers.${i}.W`], b: net.tensors[`layers.${i}.b`] }] : []));
  return { layers: stack.layers, activations: stack.activations, loss: net.model.loss, inputScale: net.inputScale, weights };
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

/**
 * NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). AttributeProto: name (1),
 * f (2), i (3), ints (8), type (20): FLOAT 1, INT 2, INTS 7. `attrs` numbers are INT, arrays INTS;
 * `floats` are FLOAT.
 */
function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[]> = {}, floats: Record<string, number> = {}): Pb {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) {
    const a = new Pb().string(1, k);
    if (Array.isArray(v)) {
      for (const x of v) a.int(8, x);
      a.int(20, 7);
    } else a.int(3, v).int(20, 2);
    n.message(5, a);
  }
  for (const [k, v] of Object.entries(floats)) n.message(5, new Pb().string(1, k).float(2, v).int(20, 1));
  return n;
}

const ONNX_OPS: Record<string, string> = { sigmoid: 'Sigmoid', relu: 'Relu', tanh: 'Tanh', softmax: 'Softmax' };

/** explicit ONNX pads [top, left, bottom, right] for simdnet's padding (src/backend.ts conv2dShape: the odd pixel goes bottom/right) */
function onnxPads(H: number, W: number, KH: number, KW: number, S: number, same: boolean): number[] {
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  if (!same) return [0, 0, 0, 0];
  const totalH = Math.max((OH - 1) * S + KH - H, 0), totalW = Math.max((OW - 1) * S + KW - W, 0);
  return [PT, PL, totalH - PT, totalW - PL];
}

/**
 * An ONNX model (IR version 8, opset 13) equivalent to simdnet's predict on [0, 1] pixels: input
 * `pixels`, [N, H, W, C] (NHWC) for an image input or [N, features], output `probabilities`
 * [N, classes]. Image layers run in ONNX's NCHW: a Transpose after the input, Conv (weights OIHW)
 * with explicit pads, MaxPool, AveragePool (count_include_pad 0: the mean of the window's pixels
 * inside the image, as simdnet's), GlobalAveragePool, BatchNormalization (kept as its own node);
 * before a Flatten or Gemm a Transpose back to NHWC, so the flattened order and the dense weights are
 * simdnet's. Dense layers are Gemm (X·W + b, W [inputs, outputs]); dropout is left out.
 */
export function toOnnx(m: ExportableModel | ExportableNet, options: { producerVersion?: string } = {}): Uint8Array {
  const net = exportableNet(m);
  const p = plan(net);
  const tensors = unitInputTensors(p, net.inputScale);
  const graph = new Pb();
  const inits: Pb[] = [];
  let x = 'pixels', nchw = false, k = 0;
  /** a node whose output is a new value, which becomes x */
  const op = (type: string, name: string, inputs: string[], attrs: Record<string, number | number[]> = {}, floats: Record<string, number> = {}) => {
    const y = `${name}_${++k}`;
    graph.message(1, node(type, `${name}_${k}`, [x, ...inputs], [y], attrs, floats));
    x = y;
  };
  const init = (name: string, dims: number[], data: Float32Array) => {
    inits.push(tensorProto(name, dims, data));
    return name;
  };
  const act = (a: string, name: string) => {
    if (a !== 'linear') op(ONNX_OPS[a], `${name}_${a}`, []);
  };
  if (p.image) {
    op('Transpose', 'to_nchw', [], { perm: [0, 3, 1, 2] });
    nchw = true;
  }
  /** back to NHWC and flattened: simdnet's flatten order */
  const flat = () => {
    if (!nchw) return;
    op('Transpose', 'to_nhwc', [], { perm: [0, 2, 3, 1] });
    op('Flatten', 'flatten', [], { axis: 1 });
    nchw = false;
  };
  for (const s of p.steps) {
    const d = s.layer, t = tensors[s.index], L = `layer${s.index + 1}`;
    switch (d.type) {
      case 'dense':
        flat();
        op('Gemm', `${L}_gemm`, [init(`${L}.W`, [product(s.inShape), d.units], t.W), init(`${L}.b`, [d.units], t.b)]);
        act(d.activation, L);
        break;
      case 'conv2d': {
        const [H, W, C] = s.inShape, [KH, KW] = d.kernel, F = d.filters;
        const oihw = new Float32Array(t.W.length);
        for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let c = 0; c < C; c++) for (let o = 0; o < F; o++) oihw[((o * C + c) * KH + kh) * KW + kw] = t.W[((kh * KW + kw) * C + c) * F + o];
        op('Conv', `${L}_conv`, [init(`${L}.W`, [F, C, KH, KW], oihw), init(`${L}.b`, [F], t.b)], {
          kernel_shape: [KH, KW], strides: [d.stride, d.stride], pads: onnxPads(H, W, KH, KW, d.stride, d.padding === 'same'), dilations: [1, 1], group: 1,
        });
        act(d.activation, L);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const [H, W] = s.inShape;
        const attrs: Record<string, number | number[]> = { kernel_shape: [d.size, d.size], strides: [d.stride, d.stride], pads: onnxPads(H, W, d.size, d.size, d.stride, d.padding === 'same') };
        if (d.type === 'avgpool2d') op('AveragePool', `${L}_avgpool`, [], { ...attrs, count_include_pad: 0 });
        else op('MaxPool', `${L}_maxpool`, [], attrs);
        break;
      }
      case 'globalavgpool':
        op('GlobalAveragePool', `${L}_globalavgpool`, []);
        op('Flatten', `${L}_flatten`, [], { axis: 1 }); // (N, C, 1, 1) -> (N, C)
        nchw = false;
        break;
      case 'flatten':
        flat();
        break;
      case 'batchnorm': {
        const C = s.inShape[s.inShape.length - 1];
        // the channel axis is 1 in both layouts here: NCHW images, (N, features) vectors
        op('BatchNormalization', `${L}_batchnorm`, [init(`${L}.gamma`, [C], t.gamma), init(`${L}.beta`, [C], t.beta), init(`${L}.mean`, [C], t.mean), init(`${L}.variance`, [C], t.variance)], {}, { epsilon: d.epsilon, momentum: d.momentum });
        break;
      }
      case 'activation':
        act(d.activation, L);
        break;
      case 'dropout':
        break; // identity in evaluation
    }
  }
  flat();
  const outAct = p.loss === 'ce' ? 'softmax' : 'sigmoid';
  graph.message(1, node(ONNX_OPS[outAct], outAct, [x], ['probabilities'], outAct === 'softmax' ? { axis: 1 } : {}));
  graph.string(2, 'simdnet');
  for (const t of inits) graph.message(5, t);
  const classes = product(p.steps[p.steps.length - 1].outShape);
  const inDims = p.image ? ['N', ...p.input] : ['N', p.input[0]];
  graph.string(10, `simdnet ${p.steps.map((s) => s.layer.type).join(', ')}; input: pixels ${p.image ? '[N, H, W, C]' : '[N, features]'} scaled to [0, 1]; output: ${p.loss === 'ce' ? 'softmax probabilities' : 'sigmoid outputs'}`);
  graph.message(11, valueInfo('pixels', inDims));
  graph.message(12, valueInfo('probabilities', ['N', classes]));
  // ModelProto: ir_version (1), producer_name (2), producer_version (3), graph (7), opset_import (8) -> domain (1), version (2)
  const model = new Pb().int(1, ONNX_IR_VERSION).string(2, 'simdnet').string(3, options.producerVersion ?? '0').message(7, graph).message(8, new Pb().string(1, '').int(2, ONNX_OPSET));
  return model.finish();
}

/** a network in a few words: a dense stack as '784-30-10 tanh, loss ce', else its input shape and layers */
export function describeNet(net: ExportableNet): string {
  const stack = denseStackOf(net);
  if (stack) return `${stack.layers.join('-')} ${stack.activations.slice(0, -1).join(',') || 'no hidden layers'}, loss ${net.model.loss}`;
  const one = (d: NetLayer): string => {
    switch (d.type) {
      case 'dense': return `dense ${d.units}${d.activation !== 'linear' ? ` ${d.activation}` : ''}`;
      case 'conv2d': return `conv ${d.kernel[0]}x${d.kernel[1]}x${d.filters}${d.stride !== 1 ? ` stride ${d.stride}` : ''}${d.padding === 'same' ? ' same' : ''}${d.activation !== 'linear' ? ` ${d.activation}` : ''}`;
      case 'maxpool2d': case 'avgpool2d': return `${d.type === 'maxpool2d' ? 'maxpool' : 'avgpool'} ${d.size}${d.stride !== d.size ? ` stride ${d.stride}` : ''}${d.padding === 'same' ? ' same' : ''}`;
      case 'activation': return d.activation;
      case 'dropout': return `dropout ${d.rate}`;
      default: return d.type;
    }
  };
  return `input ${net.model.input.join('x')}: ${net.model.layers.map(one).join(', ')}, loss ${net.model.loss}`;
}
