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
import { Activation, type ActivationName, type Backend, type Tensor } from '../core/backend.js';
import { UsageError } from '../core/errors.js';

export type LossName = 'ce' | 'mse';
export const ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'tanh', 'linear'];
export const LOSSES: readonly LossName[] = ['ce', 'mse'];

export interface DenseDesc { type: 'dense'; units: number; activation: ActivationName }
export interface ActivationDesc { type: 'activation'; activation: ActivationName }
export interface DropoutDesc { type: 'dropout'; rate: number }
/** a layer as files, checkpoints and exporters store it (every field given) */
export type LayerDesc = DenseDesc | ActivationDesc | DropoutDesc;
/** a layer as a caller writes it: Dense's activation may be left out ('linear') */
export type LayerSpec = LayerDesc | { type: 'dense'; units: number; activation?: ActivationName };

/** the model: the shape of one input, the layers in order, and the loss on the last layer's output */
export interface ModelDescription {
  input: number[];
  layers: LayerDesc[];
  loss: LossName;
}

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

/** the most units a Dense layer may have (model files refuse more) */
export const MAX_UNITS = 1 << 24;
/** dropout masks come from streams step * 64 + stream: a 65th stream would repeat the next step's first */
export const DROPOUT_STREAMS = 64;

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** a named tensor of a layer, with its initialisation ('fan': the model's weight init, over fanIn and fanOut) */
export interface TensorSpec {
  name: string;
  shape: number[];
  init: 'fan' | 'zeros';
  fanIn?: number;
  fanOut?: number;
  /** for init 'auto': the activation applied after these weights */
  activation?: ActivationName;
}

/** a batch fed to the first layer through its non-zero lists (src/nn/sparse.ts) */
export interface SparseInput {
  start: Tensor<'i32'>;
  idx: Tensor<'i32'>;
  /** which rows of the lists form the batch */
  rows: Tensor<'i32'>;
}

/** the first Dense's weight step left to the optimizer (Backend.sparse_update), see Model.update */
export interface FusedFirst {
  layer: Dense;
  /** the batch's gradient at the layer's output (B, OC) */
  dout: Tensor<'f32'>;
  B: number;
  sparse: SparseInput;
}

/** what a layer's forward and backward see besides its tensors */
export interface StepContext {
  be: Backend;
  seed: number;
  /** optimizer steps taken so far (dropout streams) */
  step: number;
  inputScale: number;
  /** this batch's input arrives as non-zero lists (only the first layer, a Dense, reads it) */
  sparse: SparseInput | null;
  /** backward: leave the sparse first Dense's weight gradient to the optimizer's fused update */
  fuse: boolean;
  /** set by that Dense's backward when it does */
  fused: FusedFirst | null;
}

export interface Layer {
  readonly desc: LayerDesc;
  /** position in the model's layer list */
  readonly index: number;
  readonly inShape: number[];
  readonly outShape: number[];
  /** trainable parameters, in the order they sit in the parameter block */
  readonly params: TensorSpec[];
  /** non-trainable buffers (running statistics, pooling indices), in the buffer block */
  readonly buffers: TensorSpec[];
  /**
   * where the output lives: 'own' a tensor of its own; 'in-place' its input's tensor; 'train-own' a
   * tensor of its own while training, its input unchanged in evaluation
   */
  readonly output: 'own' | 'in-place' | 'train-own';
  /** backward overwrites the output gradient with the input gradient (no second buffer) */
  readonly gradInPlace: boolean;
  /** the model hands each layer views of its parameters, gradients and buffers (in spec order) */
  bind(params: Tensor<'f32'>[], grads: Tensor<'f32'>[], buffers: Tensor<'f32'>[]): void;
  /** y = f(x) for B rows (y === x for in-place layers) */
  forward(ctx: StepContext, y: Tensor<'f32'>, x: Tensor<'f32'>, B: number, training: boolean): void;
  /**
   * accumulate parameter gradients from dy and write dx (null when nothing below needs it; for
   * gradInPlace layers dx === dy); x and y are the forward's tensors
   */
  backward(ctx: StepContext, dx: Tensor<'f32'> | null, dy: Tensor<'f32'>, x: Tensor<'f32'>, y: Tensor<'f32'>, B: number): void;
  describe(): LayerDesc;
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
    default:
      throw new UsageError(`${where}: unknown layer type ${JSON.stringify(s.type)}: use dense, activation or dropout`);
  }
}

/**
 * The layers of a description, each given its input shape: the output shape of the one before (the
 * model's input shape for the first). The last layer's output is the loss's input.
 */
export function buildLayers(desc: ModelDescription): Layer[] {
  const out: Layer[] = [];
  let shape = desc.input, paramLayers = 0, lastStream = -1;
  desc.layers.forEach((d, i) => {
    let layer: Layer;
    if (d.type === 'dense') {
      // init 'auto' looks at the activation applied to the weights' outputs: Dense's own, else a next activation layer's
      const next = desc.layers[i + 1];
      const initAct = d.activation === 'linear' && next?.type === 'activation' ? next.activation : d.activation;
      layer = new Dense(d, i, shape, initAct);
      paramLayers++;
    } else if (d.type === 'activation') layer = new ActivationLayer(d, i, shape);
    else {
      const stream = Math.max(paramLayers - 1, lastStream + 1);
      if (d.rate > 0 && stream >= DROPOUT_STREAMS) throw new UsageError(`dropout works on the first ${DROPOUT_STREAMS} layers; layer ${i + 1} would be its ${stream + 1}th: give the deeper ones a rate of 0`);
      if (d.rate > 0) lastStream = stream;
      layer = new Dropout(d, i, shape, stream);
    }
    out.push(layer);
    shape = layer.outShape;
  });
  return out;
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
  const one = (d: LayerDesc) => (d.type === 'dense' ? `dense ${d.units}${d.activation !== 'linear' ? ` ${d.activation}` : ''}` : d.type === 'activation' ? d.activation : `dropout ${d.rate}`);
  return `input ${desc.input.join('x')}, ${desc.layers.map(one).join(', ')}`;
}
