/**
 * TensorFlow.js layers models: the export of any exportable network (a Sequential, channels_last)
 * and the import of Sequential models of the layers simdnet has. Pure: no Node imports.
 */
import { conv2dShape, type ActivationName } from '../core/backend.js';
import { DataError } from '../core/errors.js';
import { largestWeight, overflowWitness } from '../nn/finite-outputs.js';
import { HIDDEN_ACTIVATIONS, denseStackOf, exportableNet, f32Bytes, plan, product, unitInputTensors, type Exportable, type ExportableNet, type NetLayer } from './net.js';

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
 * [0, 1] pixels. Takes a Model, any layer list with its tensors (ExportableNet), or a stack of dense
 * layers (ExportableModel).
 */
export function toTfjs(m: Exportable, options: { weightsFile?: string; generatedBy?: string } = {}): TfjsArtifacts {
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
