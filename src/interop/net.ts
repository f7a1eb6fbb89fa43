/**
 * The network an export takes and how the exporters walk it: a layer list with its tensors
 * (ExportableNet), the older dense-stack form (ExportableModel), each layer's input and output
 * shape, and simdnet's input scale folded into the first layer with weights. Pure (no Node imports).
 *
 * Both exports take pixels scaled to [0, 1] (u8 / 255): images [N, H, W, C] (NHWC, what simdnet
 * feeds its layers; an input shape [H, W] is one channel) when the network has a convolution,
 * pooling or an image batch norm, else flattened [N, features]. simdnet's own input scale
 * (`inputScale`, 1/255 by default) is folded into the first layer with weights,
 * W' = W * inputScale * 255. The output is what simdnet's `predict` returns: softmax probabilities
 * for `ce` models, sigmoid outputs for `mse` models.
 */
import { conv2dShape, type ActivationName } from '../core/backend.js';
import { SimdnetError } from '../core/errors.js';
import { denseStack, describeNetwork, shorthandLayers, type LayerDesc, type LossName, type ModelDescription } from '../nn/layers.js';

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

/** a layer an export takes: any of simdnet's (src/nn/layers.ts) */
export type NetLayer = LayerDesc;

/** any layer list an export takes: a model description and each layer's tensors */
export interface ExportableNet {
  /** the shape of one input ([H, W] is one channel, [H, W, C], or [features]), the layers, the loss */
  model: ModelDescription;
  /** multiplier simdnet applies to u8 pixels (1/255 by default) */
  inputScale: number;
  /**
   * every layer's tensors by name, 'layers.{i}.{name}' (i its index in the list), as model files and
   * Model.getLayerTensors() name them: dense W (inputs, units) and b (units); conv2d W (KH, KW, C, F)
   * (HWIO) and b (F); batchnorm gamma, beta, mean, variance (C)
   */
  tensors: Record<string, Float32Array>;
}

export const HIDDEN_ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'tanh', 'linear'];
const SPATIAL = new Set(['conv2d', 'maxpool2d', 'avgpool2d', 'globalavgpool']);
export const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

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

/** a simdnet Model (anything with its config and getLayerTensors()) */
export interface ModelLike {
  readonly config: { model: ModelDescription; inputScale: number };
  getLayerTensors(): Record<string, Float32Array>;
}

/**
 * what the exports take: a Model itself, a layer list with its tensors (ExportableNet), a stack of
 * dense layers (ExportableModel), or a Model's config with getWeights() (dense layers only)
 */
export type Exportable = ModelLike | ExportableNet | ExportableModel | (ExportableModel & { model: ModelDescription });

/** any Exportable as a layer list with its tensors */
export function exportableNet(m: Exportable): ExportableNet {
  if (typeof (m as ModelLike).getLayerTensors === 'function') {
    const model = m as ModelLike;
    return { model: model.config.model, inputScale: model.config.inputScale, tensors: model.getLayerTensors() };
  }
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
  if (s.model && Array.isArray(s.model.layers)) {
    if (s.model.layers.some((d) => d.type === 'conv2d' || d.type === 'batchnorm')) throw new SimdnetError('cannot export: getWeights() holds the dense layers only; pass the Model itself (toTfjs(model)) or { model, inputScale, tensors: model.getLayerTensors() }');
    return { model: s.model, inputScale: s.inputScale, tensors: named(s.model.layers) };
  }
  check(s);
  const layers = shorthandLayers(s.layers, s.activations, []);
  return { model: { input: [s.layers[0]], layers, loss: s.loss }, inputScale: s.inputScale, tensors: named(layers) };
}

/** one layer of a network as the exporters walk it */
export interface Step {
  index: number;
  layer: NetLayer;
  /** the input's shape ([H, W, C] or [features]) and the output's */
  inShape: number[];
  outShape: number[];
  tensors: Record<string, Float32Array>;
}

/** a network checked for export: image input or flat, the input shape, each layer with its shapes */
export interface Plan {
  image: boolean;
  /** [H, W, C] for image inputs, [features] else */
  input: number[];
  steps: Step[];
  loss: LossName;
}

function layerName(d: NetLayer, i: number): string {
  return `layer ${i + 1} (${d.type})`;
}

/** the exports' input, e.g. '[N, 28, 28, 1] (NHWC)' for a CNN or '[N, 784]' for a dense stack */
export function exportInput(m: Exportable): string {
  const p = plan(exportableNet(m));
  return `[N, ${p.input.join(', ')}]${p.image ? ' (NHWC)' : ''}`;
}

/** the shapes through the network, every layer's parameters and tensor sizes checked */
export function plan(net: ExportableNet): Plan {
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
export function unitInputTensors(p: Plan, inputScale: number): Record<string, Float32Array>[] {
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

export function f32Bytes(arrays: Float32Array[]): Uint8Array {
  const n = arrays.reduce((a, x) => a + x.length, 0);
  const out = new Uint8Array(n * 4);
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++, at += 4) dv.setFloat32(at, a[i], true);
  return out;
}

/** a network as a stack of dense layers (ExportableModel), or null when it has other layers */
export function denseStackOf(net: ExportableNet): ExportableModel | null {
  if (!net.model.layers.every((d) => d.type === 'dense' || d.type === 'activation' || d.type === 'dropout')) return null;
  const stack = denseStack(net.model);
  if (!stack) return null;
  const weights = net.model.layers.flatMap((d, i) => (d.type === 'dense' ? [{ W: net.tensors[`layers.${i}.W`], b: net.tensors[`layers.${i}.b`] }] : []));
  return { layers: stack.layers, activations: stack.activations, loss: net.model.loss, inputScale: net.inputScale, weights };
}

/** a network in a few words: a dense stack as '784-30-10 tanh, loss ce', else describeNetwork's words and the loss */
export function describeNet(net: ExportableNet): string {
  const stack = denseStackOf(net);
  if (stack) return `${stack.layers.join('-')} ${stack.activations.slice(0, -1).join(',') || 'no hidden layers'}, loss ${net.model.loss}`;
  return `${describeNetwork(net.model)}, loss ${net.model.loss}`;
}
