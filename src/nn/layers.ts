/**
 * Layers: the unit of a model (tinygrad's nn, llm.c's forward/backward pairs).
 *
 * A model is its input shape, a list of layers and a loss: the ModelDescription, plain JSON, the one
 * description that Model, model files, checkpoints and exporters share. Each layer kind implements:
 *   - its output shape from its input shape (constructor),
 *   - its parameter specs (trainable: the parameter block, updated by the optimizer) and buffer specs
 *     (non-trainable: the buffer block, never updated or decayed), with their initialisation,
 *   - forward and backward, as a few Backend calls on tensors the model's memory plan gives it,
 *   - its description (describe()), what files and exporters store.
 *
 * Activations: Dense takes an activation (Keras's Dense(units, activation)), applied in place to its
 * output; an `activation` layer applies one on its own (after any layer). Both run the same kernels.
 * Dense reads its input flattened. The exact sparse first layer is Dense's sparse input mode: the
 * first layer of a model, when it is a Dense, reads a sparse batch through its non-zero lists.
 */
import { Activation, type ActivationName, type Tensor } from '../core/backend.js';
import { UsageError } from '../core/errors.js';
import { ACTIVATIONS, DROPOUT_STREAMS, MAX_LAYER_VALUES, MAX_UNITS, MAX_WINDOW, shapeText, type ActivationDesc, type AvgPool2DDesc, type BatchNormDesc, type Conv2DDesc, type DenseDesc, type DropoutDesc, type FlattenDesc, type GlobalAvgPoolDesc, type Layer, type LayerDesc, type LossName, type MaxPool2DDesc, type ModelDescription, type Padding, type StepContext, type TensorSpec } from './layer.js';
import { Conv2D } from './conv-layer.js';
import { AvgPool2D, Flatten, GlobalAvgPool, MaxPool2D } from './pool-layers.js';
import { BatchNorm } from './batchnorm-layer.js';

// the layer interface, the descriptors and the limits live in ./layer.ts (which the layer kinds' own
// files import without importing this one); everything of it is part of this module's API too
export * from './layer.js';

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** a fully connected layer: `units` outputs, with an optional activation applied to them */
export function dense(units: number, activation: ActivationName = 'linear'): DenseDesc {
  return { type: 'dense', units, activation };
}
/** an activation on its own: 'sigmoid' | 'relu' | 'tanh' | 'linear' */
export function activation(name: ActivationName): ActivationDesc {
  return { type: 'activation', activation: name };
}
/** inverted dropout while training (identity in evaluation): each value is zeroed with probability `rate` */
export function dropout(rate: number): DropoutDesc {
  return { type: 'dropout', rate };
}

/** a 2-D convolution: `filters` output channels, a `kernel` x `kernel` (or [kh, kw]) window; stride 1, padding 'valid', activation 'linear' unless given */
export function conv2d(filters: number, kernel: number | [number, number], opts: { stride?: number; padding?: Padding; activation?: ActivationName } = {}): Conv2DDesc {
  const k: [number, number] = Array.isArray(kernel) ? [kernel[0], kernel[1]] : [kernel, kernel];
  return { type: 'conv2d', filters, kernel: k, stride: opts.stride ?? 1, padding: opts.padding ?? 'valid', activation: opts.activation ?? 'linear' };
}
/** max-pooling over `size` x `size` windows (stride: the size, padding 'valid', unless given) */
export function maxPool2d(size = 2, opts: { stride?: number; padding?: Padding } = {}): MaxPool2DDesc {
  return { type: 'maxpool2d', size, stride: opts.stride ?? size, padding: opts.padding ?? 'valid' };
}
/** average-pooling over `size` x `size` windows (stride: the size, padding 'valid', unless given) */
export function avgPool2d(size = 2, opts: { stride?: number; padding?: Padding } = {}): AvgPool2DDesc {
  return { type: 'avgpool2d', size, stride: opts.stride ?? size, padding: opts.padding ?? 'valid' };
}
/** the mean of each channel over the image: [H, W, C] -> [C] */
export function globalAvgPool(): GlobalAvgPoolDesc {
  return { type: 'globalavgpool' };
}
/** an image as a flat vector in NHWC order (Dense after a convolution flattens anyway: this makes it explicit) */
export function flatten(): FlattenDesc {
  return { type: 'flatten' };
}
/** batch normalisation (Keras's defaults and semantics: running = momentum * running + (1 - momentum) * batch) */
export function batchNorm(opts: { momentum?: number; epsilon?: number } = {}): BatchNormDesc {
  return { type: 'batchnorm', momentum: opts.momentum ?? 0.99, epsilon: opts.epsilon ?? 0.001 };
}

export class Dense implements Layer {
  readonly output = 'own';
  readonly gradInPlace = false;
  readonly outShape: number[];
  readonly params: TensorSpec[];
  readonly buffers: TensorSpec[] = [];
  /** flattened input size (C) and outputs (OC) */
  readonly inputs: number;
  readonly outputs: number;
  readonly activation: ActivationName;
  /** the first layer: reads a sparse batch through its non-zero lists */
  readonly sparseInput: boolean;
  W!: Tensor<'f32'>;
  b!: Tensor<'f32'>;
  dW!: Tensor<'f32'>;
  db!: Tensor<'f32'>;

  constructor(readonly desc: DenseDesc, readonly index: number, readonly inShape: number[], initActivation: ActivationName) {
    this.inputs = product(inShape);
    this.outputs = desc.units;
    this.activation = desc.activation;
    this.outShape = [desc.units];
    this.sparseInput = index === 0;
    this.params = [
      { name: 'W', shape: [this.inputs, this.outputs], init: 'fan', fanIn: this.inputs, fanOut: this.outputs, activation: initActivation },
      { name: 'b', shape: [this.outputs], init: 'zeros' },
    ];
  }

  bind(p: Tensor<'f32'>[], g: Tensor<'f32'>[]): void {
    [this.W, this.b] = p;
    [this.dW, this.db] = g;
  }

  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    const be = ctx.be, sp = this.sparseInput ? ctx.sparse : null;
    if (sp) be.sparse_matmul_forward(y, sp.start, sp.idx, sp.rows, this.W, this.b, B, this.inputs, this.outputs, ctx.inputScale);
    else be.matmul_forward(y, x, this.W, this.b, B, this.inputs, this.outputs);
    if (this.activation !== 'linear') be.activation_forward(y, y, B * this.outputs, Activation[this.activation]);
  }

  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    const be = ctx.be, sp = this.sparseInput ? ctx.sparse : null;
    if (this.activation !== 'linear') be.activation_backward(dy, dy, y, B * this.outputs, Activation[this.activation]);
    if (sp && ctx.fuse) {
      // the weight gradient is never stored: the optimizer's fused update sums it as it steps
      be.sparse_matmul_backward(null, this.db, dy, sp.start, sp.idx, sp.rows, B, this.inputs, this.outputs, ctx.inputScale);
      ctx.fused = { layer: this, dout: dy, B, sparse: sp };
    } else if (sp) be.sparse_matmul_backward(this.dW, this.db, dy, sp.start, sp.idx, sp.rows, B, this.inputs, this.outputs, ctx.inputScale);
    else be.matmul_backward(dx, this.dW, this.db, dy, x, this.W, B, this.inputs, this.outputs);
  }

  describe(): DenseDesc {
    return { type: 'dense', units: this.outputs, activation: this.activation };
  }
}

export class ActivationLayer implements Layer {
  readonly output = 'in-place';
  readonly gradInPlace = true;
  readonly params: TensorSpec[] = [];
  readonly buffers: TensorSpec[] = [];
  readonly outShape: number[];
  private readonly n: number;
  private readonly code: number;
  constructor(readonly desc: ActivationDesc, readonly index: number, readonly inShape: number[]) {
    this.outShape = inShape.slice();
    this.n = product(inShape);
    this.code = Activation[desc.activation];
  }
  bind(): void {}
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number): void {
    if (this.code !== Activation.linear) ctx.be.activation_forward(y, x, B * this.n, this.code);
  }
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    if (dx && this.code !== Activation.linear) ctx.be.activation_backward(dx, dy, y, B * this.n, this.code);
  }
  describe(): ActivationDesc {
    return { type: 'activation', activation: this.desc.activation };
  }
}

export class Dropout implements Layer {
  readonly output: 'train-own' | 'in-place';
  readonly gradInPlace = true;
  readonly params: TensorSpec[] = [];
  readonly buffers: TensorSpec[] = [];
  readonly outShape: number[];
  private readonly n: number;
  /**
   * its masks' stream (step * 64 + stream): the index of the Dense (or other parameter layer) before
   * it among the model's, so a dropout after hidden layer l draws stream l
   */
  constructor(readonly desc: DropoutDesc, readonly index: number, readonly inShape: number[], readonly stream: number) {
    this.outShape = inShape.slice();
    this.n = product(inShape);
    this.output = desc.rate > 0 ? 'train-own' : 'in-place';
  }
  bind(): void {}
  private streamAt(step: number): number {
    return (step * DROPOUT_STREAMS + this.stream) >>> 0;
  }
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number, training: boolean): void {
    if (training && this.desc.rate > 0) ctx.be.dropout_forward(y, x, B * this.n, this.desc.rate, ctx.seed, this.streamAt(ctx.step));
  }
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void {
    if (dx && this.desc.rate > 0) ctx.be.dropout_backward(dx, dy, B * this.n, this.desc.rate, ctx.seed, this.streamAt(ctx.step));
  }
  describe(): DropoutDesc {
    return { type: 'dropout', rate: this.desc.rate };
  }
}

/** a caller's layer (plain object or factory result) checked and completed; `where` names it in messages */
export function checkLayer(spec: unknown, where: string): LayerDesc {
  const s = spec as Record<string, unknown>;
  if (typeof s !== 'object' || s === null) throw new UsageError(`${where} must be a layer such as dense(64, 'relu') or { type: 'dense', units: 64 }, got ${JSON.stringify(spec)}`);
  const act = (a: unknown, d?: ActivationName): ActivationName => {
    const v = a === undefined ? d : a;
    if (!ACTIVATIONS.includes(v as ActivationName)) throw new UsageError(`${where}: unknown activation '${String(a)}': use one of ${ACTIVATIONS.join(', ')}`);
    return v as ActivationName;
  };
  switch (s.type) {
    case 'dense': {
      const u = s.units;
      if (!Number.isInteger(u) || (u as number) < 1 || (u as number) > MAX_UNITS) throw new UsageError(`${where}: dense units must be an integer from 1 to ${MAX_UNITS}, got ${JSON.stringify(u)}`);
      return { type: 'dense', units: u as number, activation: act(s.activation, 'linear') };
    }
    case 'activation':
      return { type: 'activation', activation: act(s.activation) };
    case 'dropout': {
      const r = s.rate;
      if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new UsageError(`${where}: dropout rates must be in [0, 1), got ${JSON.stringify(r)}`);
      return { type: 'dropout', rate: r };
    }
    case 'conv2d': {
      const f = s.filters;
      if (!Number.isInteger(f) || (f as number) < 1 || (f as number) > MAX_UNITS) throw new UsageError(`${where}: conv2d filters must be an integer from 1 to ${MAX_UNITS}, got ${JSON.stringify(f)}`);
      const k = s.kernel;
      const kernel = typeof k === 'number' ? [k, k] : k;
      if (!Array.isArray(kernel) || kernel.length !== 2 || !kernel.every(isSide)) throw new UsageError(`${where}: conv2d kernel must be a size from 1 to ${MAX_WINDOW} or [height, width] of such sizes, e.g. 3 or [3, 3], got ${JSON.stringify(k)}`);
      return { type: 'conv2d', filters: f as number, kernel: [kernel[0], kernel[1]], stride: side(s.stride, 1, 'conv2d stride'), padding: pad(s.padding), activation: act(s.activation, 'linear') };
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const size = side(s.size, 2, `${s.type} size`);
      return { type: s.type, size, stride: side(s.stride, size, `${s.type} stride`), padding: pad(s.padding) };
    }
    case 'globalavgpool':
    case 'flatten':
      return { type: s.type };
    case 'batchnorm': {
      const m = s.momentum === undefined ? 0.99 : s.momentum, e = s.epsilon === undefined ? 0.001 : s.epsilon;
      if (!(typeof m === 'number' && m >= 0 && m < 1)) throw new UsageError(`${where}: batchnorm momentum must be in [0, 1), e.g. 0.99, got ${JSON.stringify(m)}`);
      if (!(typeof e === 'number' && e > 0 && e <= 1)) throw new UsageError(`${where}: batchnorm epsilon must be in (0, 1], e.g. 0.001, got ${JSON.stringify(e)}`);
      return { type: 'batchnorm', momentum: m, epsilon: e };
    }
    default:
      throw new UsageError(`${where}: unknown layer type ${JSON.stringify(s.type)}: use ${LAYER_TYPES.join(', ')}`);
  }

  function side(v: unknown, d: number | undefined, what: string): number {
    const x = v === undefined ? d : v;
    if (!isSide(x)) throw new UsageError(`${where}: ${what} must be an integer from 1 to ${MAX_WINDOW}, got ${JSON.stringify(v)}`);
    return x as number;
  }
  function pad(v: unknown): Padding {
    const x = v === undefined ? 'valid' : v;
    if (x !== 'valid' && x !== 'same') throw new UsageError(`${where}: padding must be 'valid' or 'same', got ${JSON.stringify(v)}`);
    return x;
  }
}

/** every layer type a description may hold */
export const LAYER_TYPES: readonly LayerDesc['type'][] = ['dense', 'activation', 'dropout', 'conv2d', 'maxpool2d', 'avgpool2d', 'globalavgpool', 'flatten', 'batchnorm'];

const isSide = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_WINDOW;

/**
 * The layers of a description, each given its input shape: the output shape of the one before (the
 * model's input shape for the first). The last layer's output is the loss's input.
 */
export function buildLayers(desc: ModelDescription): Layer[] {
  const out: Layer[] = [];
  let shape = desc.input, paramLayers = 0, lastStream = -1;
  desc.layers.forEach((d, i) => {
    let layer: Layer;
    // init 'auto' looks at the activation applied to the weights' outputs: the layer's own, else a next activation layer's
    const next = desc.layers[i + 1];
    const initAct = (a: ActivationName) => (a === 'linear' && next?.type === 'activation' ? next.activation : a);
    const where = `layer ${i + 1} (${d.type})`;
    switch (d.type) {
      case 'dense':
        layer = new Dense(d, i, shape, initAct(d.activation));
        break;
      case 'activation':
        layer = new ActivationLayer(d, i, shape);
        break;
      case 'dropout': {
        const stream = Math.max(paramLayers - 1, lastStream + 1);
        if (d.rate > 0 && stream >= DROPOUT_STREAMS) throw new UsageError(`dropout works on the first ${DROPOUT_STREAMS} layers; layer ${i + 1} would be its ${stream + 1}th: give the deeper ones a rate of 0`);
        if (d.rate > 0) lastStream = stream;
        layer = new Dropout(d, i, shape, stream);
        break;
      }
      case 'conv2d':
        layer = new Conv2D(d, i, imageShape(shape, where), initAct(d.activation), paramLayers > 0);
        break;
      case 'maxpool2d':
        layer = new MaxPool2D(d, i, imageShape(shape, where));
        break;
      case 'avgpool2d':
        layer = new AvgPool2D(d, i, imageShape(shape, where));
        break;
      case 'globalavgpool':
        layer = new GlobalAvgPool(d, i, imageShape(shape, where));
        break;
      case 'flatten':
        layer = new Flatten(d, i, shape);
        break;
      case 'batchnorm':
        layer = new BatchNorm(d, i, shape);
        break;
    }
    const outValues = product(layer.outShape);
    if (layer.outShape.some((n) => n < 1)) throw new UsageError(`${where}: its ${shapeText(shape)} input gives an output of ${shapeText(layer.outShape)}: use a smaller window or stride, 'same' padding, or a larger input`);
    if (outValues > MAX_LAYER_VALUES) throw new UsageError(`${where}: its output ${shapeText(layer.outShape)} holds ${outValues} values per example, more than ${MAX_LAYER_VALUES}: use fewer filters or units, or a smaller input`);
    for (const t of layer.params) {
      const n = product(t.shape);
      if (n > MAX_LAYER_VALUES) throw new UsageError(`${where}: its ${t.name} ${shapeText(t.shape)} holds ${n} values, more than ${MAX_LAYER_VALUES}: use fewer filters or units, or a smaller kernel or input`);
    }
    if (layer.params.length > 0) paramLayers++;
    out.push(layer);
    shape = layer.outShape;
  });
  return out;
}


/** the [H, W, C] of a layer's image input ([H, W] is one channel); a flat input is refused with one line */
function imageShape(shape: number[], where: string): [number, number, number] {
  if (shape.length === 2) return [shape[0], shape[1], 1];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new UsageError(`${where} needs an image input [H, W] or [H, W, C], but its input is ${shapeText(shape)}: give the model an image inputShape such as [28, 28], and put convolutions and pooling before flatten, globalavgpool and dense layers`);
}


/**
 * A summary of a description as a stack of Dense layers, each optionally followed by an activation
 * and a dropout (what the CLI prints, checkpoints of the shorthand and the tfjs/ONNX exporters take):
 * widths [inputs, ...units], each Dense's activation, and the dropout rate after each hidden Dense.
 * null when the list is not of that shape.
 */
export function denseStack(desc: ModelDescription): { layers: number[]; activations: ActivationName[]; dropout: number[] } | null {
  const layers = [product(desc.input)], activations: ActivationName[] = [], rates: number[] = [];
  let i = 0;
  const L = desc.layers;
  while (i < L.length) {
    const d = L[i++];
    if (d.type !== 'dense') return null;
    let act = d.activation, rate = 0;
    if (i < L.length && L[i].type === 'activation') {
      if (act !== 'linear') return null;
      act = (L[i++] as ActivationDesc).activation;
    }
    if (i < L.length && L[i].type === 'dropout') rate = (L[i++] as DropoutDesc).rate;
    layers.push(d.units);
    activations.push(act);
    rates.push(rate);
  }
  if (activations.length === 0 || activations[activations.length - 1] !== 'linear' || rates[rates.length - 1] !== 0) return null;
  return { layers, activations, dropout: rates.slice(0, -1) };
}

/** the shorthand { layers: [784, 64, 10], activation, dropout } as a layer list */
export function shorthandLayers(widths: number[], acts: ActivationName[], rates: number[]): LayerDesc[] {
  const out: LayerDesc[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const hidden = l + 2 < widths.length;
    out.push(dense(widths[l + 1], hidden ? acts[l] : 'linear'));
    if (hidden && rates[l] > 0) out.push(dropout(rates[l]));
  }
  return out;
}

/** outputs of the last layer (the classes) */
export function outputSize(desc: ModelDescription): number {
  return buildLayers(desc).at(-1)!.outShape.reduce((a, b) => a * b, 1);
}

/** a network in a few words for messages: the widths of a dense stack ('784-64-10'), else the layer list */
export function describeNetwork(desc: ModelDescription): string {
  const stack = denseStack(desc);
  if (stack) return stack.layers.join('-');
  return `input ${desc.input.join('x')}, ${desc.layers.map(layerText).join(', ')}`;
}

/** one layer in a few words: 'conv 32 3x3 relu', 'conv 64 5x5/2 same', 'maxpool 2', 'batchnorm', 'dense 10' */
export function layerText(d: LayerDesc): string {
  const act = (a: ActivationName) => (a !== 'linear' ? ` ${a}` : '');
  const win = (s: number, p: Padding, defaultStride: number) => `${s !== defaultStride ? `/${s}` : ''}${p === 'same' ? ' same' : ''}`;
  switch (d.type) {
    case 'dense': return `dense ${d.units}${act(d.activation)}`;
    case 'activation': return d.activation;
    case 'dropout': return `dropout ${d.rate}`;
    case 'conv2d': return `conv ${d.filters} ${d.kernel.join('x')}${win(d.stride, d.padding, 1)}${act(d.activation)}`;
    case 'maxpool2d': return `maxpool ${d.size}${win(d.stride, d.padding, d.size)}`;
    case 'avgpool2d': return `avgpool ${d.size}${win(d.stride, d.padding, d.size)}`;
    case 'globalavgpool': return 'globalavgpool';
    case 'flatten': return 'flatten';
    case 'batchnorm': return d.momentum === 0.99 && d.epsilon === 0.001 ? 'batchnorm' : `batchnorm ${d.momentum}/${d.epsilon}`;
  }
}
