/**
 * The network: a stack of layers (src/nn/layers.ts) whose parameters, gradients, buffers, optimizer
 * state, activations and resident datasets all live in the backend's memory, planned up front from
 * one size table (llm.c's fill_in_parameter_sizes: the same table is checked against the 4 GiB wasm
 * memory and then allocated). Every step is a handful of Backend calls per layer; nothing is
 * allocated inside the loop.
 */
import { BYTES, NZ_MAX_COLUMNS, type ActivationName, type Backend, type BackendPreference, type DType, type Tensor } from '../core/backend.js';
import { createBackend } from '../backends/index.js';
import { UsageError, SimdnetError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { checkPlanFits } from '../core/limits.js';
import { countNonzero, SPARSE_MAX_DENSITY, wantsSparseIndex } from './sparse.js';
import { ACTIVATIONS, LOSSES, buildLayers, checkLayer, denseStack, Dense, shorthandLayers, type Layer, type LayerDesc, type LayerSpec, type LossName, type ModelDescription, type StepContext, type SparseInput } from './layers.js';
import type { OptimizerConfig } from './optimizer.js';
import { augmentScratch, imageSize, type ResolvedAugment } from './augment.js';
import { shapeText, shapesAgree } from './image-shape.js';

export type { LossName } from './layers.js';
export { ACTIVATIONS, LOSSES } from './layers.js';
export type InitName = 'auto' | 'xavier-uniform' | 'xavier-normal' | 'he-uniform' | 'he-normal' | 'normal';
export const INITS: readonly InitName[] = ['auto', 'xavier-uniform', 'xavier-normal', 'he-uniform', 'he-normal', 'normal'];

/**
 * what the model needs to know about a dataset (src/io/mnist.ts's Dataset satisfies it). A model copies
 * a DataSet into its memory the first time it uses it and keys the copy by the object, as
 * tf.tensor() copies its array: change the arrays in place afterwards and pass a new object (`{ ...ds }`)
 * for the change to be seen.
 */
export interface DataSet {
  /** row-major (count, features) u8 pixels */
  images: Uint8Array;
  /** (count) class indices */
  labels: Uint8Array;
  count: number;
  features: number;
  /**
   * the shape of one image (product: features), when known: then it must agree with the model's
   * imageShape (equal, or one of them flat; src/nn/image-shape.ts)
   */
  imageShape?: number[];
}

export interface ModelConfig {
  /**
   * the network after the input: a list of layers, e.g. [dense(64, 'sigmoid'), dense(10)] or plain
   * objects ({ type: 'dense', units: 64, activation: 'sigmoid' }; src/nn/layers.ts), the last one giving
   * one output per class; or the shorthand widths [inputs, ...hidden, classes], e.g. [784, 64, 10],
   * which stands for dense hidden layers with `activation` (and `dropout`) and a linear output layer
   */
  layers: number[] | LayerSpec[];
  /** with a layer list: the shape of one input, e.g. [28, 28] or [784] (default imageShape) */
  inputShape?: number[];
  /** shorthand only: activation of the hidden layers, one for all or one per hidden layer (default 'sigmoid') */
  activation?: ActivationName | ActivationName[];
  /** 'ce': softmax + cross-entropy (default); 'mse': sigmoid outputs + squared error (the article's) */
  loss?: LossName;
  /** weight initialisation (default 'auto': Xavier-uniform for sigmoid/tanh, He-normal for relu) */
  init?: InitName;
  /** standard deviation for init 'normal' (default 0.01) */
  initScale?: number;
  /** seed for initialisation (default 0) */
  seed?: number;
  /** multiplier applied to u8 pixels (default 1/255) */
  inputScale?: number;
  /** shorthand only: inverted dropout after each hidden layer while training, one rate for all or one per hidden layer (default 0) */
  dropout?: number | number[];
  /** shape of one input, for reports, augmentation and exports (default [features]); the input shape of a layer list when inputShape is not given */
  imageShape?: number[];
}

export interface ResolvedConfig {
  /** the one description of the network (input shape, layers, loss): what files and checkpoints store */
  model: ModelDescription;
  /**
   * a summary of a stack of dense layers (src/nn/layers.ts denseStack), for display and the exporters:
   * widths [inputs, ...units], each dense layer's activation ('linear' last), the dropout after each
   * hidden one
   */
  layers: number[];
  activations: ActivationName[];
  loss: LossName;
  init: InitName;
  initScale: number;
  seed: number;
  inputScale: number;
  imageShape: number[];
  /** dropout rate after each hidden layer (training only) */
  dropout: number[];
}



interface Resident {
  images: Tensor<'u8'>;
  labels: Tensor<'u8'>;
  /** the non-zero structure of the images (nz_count / nz_fill), when the data is sparse enough */
  nz: { start: Tensor<'i32'>; idx: Tensor<'i32'>; counts: Int32Array } | null;
}


/** a layer's input and output tensors in one mode (training or evaluation) */
interface Route {
  x: Tensor<'f32'>;
  y: Tensor<'f32'>;
}

/**
 * memory planned for one batch size, one optimizer kind and a set of resident datasets; also the
 * layers' StepContext (sparse, fuse, fused, step), so a step allocates nothing
 */
interface Session extends StepContext {
  batch: number;
  optKind: 'none' | 'momentum' | 'adam';
  /**
   * planned for training steps: the gradient buffers and the training-only outputs exist. A session
   * that only evaluates and predicts (planned by them, optKind null) has neither: a CNN's gradient
   * buffers at an evaluation batch of 1,000 would be two of its largest tensors
   */
  trains: boolean;
  /** the input batch (B, inputs) */
  input: Tensor<'f32'>;
  /** each layer's output tensor of its own ('own' layers, and 'train-own' ones while training) */
  outs: (Tensor<'f32'> | null)[];
  /** each layer's input and output, training and evaluation (in-place layers share their input's) */
  route: { train: Route[]; eval: Route[] };
  /** the last layer's output of the latest forward: the logits */
  last: Tensor<'f32'>;
  probs: Tensor<'f32'>;
  /** gradient ping-pong buffers, (B, widest input or output) each */
  dA: Tensor<'f32'>;
  dB: Tensor<'f32'>;
  labels: Tensor<'i32'>;
  preds: Tensor<'i32'>;
  /** sample order for the epoch (training) or 0..n-1 (evaluation) */
  order: Tensor<'i32'>;
  /** a host copy of order, for the per-batch density of the sparse path */
  orderHost: Int32Array;
  opt: Tensor<'f32'>[];
  resident: Map<DataSet, Resident>;
  /** augmentation buffers (training batches only), planned when fit() asks for augmentation */
  aug: AugmentBuffers | null;
  /** params, grads and the first optimizer state after the first layer's weights (set with fused) */
  rest: { params: Tensor<'f32'>; grads: Tensor<'f32'>; vel: Tensor<'f32'> | null; firstVel: Tensor<'f32'> | null; n: number } | null;
  /** predict()'s u8 input rows, allocated by its first call (stageOf) */
  stage: U8Batch | null;
  /** every tensor allocated for this session, freed together when it is re-planned */
  owned: Tensor[];
}

/**
 * A batch of u8 rows made in wasm memory (augmented) or written there (predict()'s rows), with its
 * own non-zero lists rebuilt per batch (allocU8Batch, feedU8Batch)
 */
interface U8Batch {
  /** (rows, inputs) u8; also the images of `res` */
  images: Tensor<'u8'>;
  /** 0 .. rows-1: the batch is read in order */
  ident: Tensor<'i32'>;
  /** the batch as a resident dataset */
  res: Resident;
}

/** the augmented batch (images: the warped rows) and the kernel's scratch */
interface AugmentBuffers extends U8Batch {
  cfg: ResolvedAugment;
  W: number;
  H: number;
  R: number;
  /** (batch, 4) f32 per-row transform parameters */
  params: Tensor<'f32'>;
  /** the elastic field scratch (Gaussian weights first) */
  field: Tensor<'f32'>;
}

/**
 * One row of the memory plan: a tensor's dtype and length, and where the session keeps it. The same
 * table gives the up-front size check (planBytes) and the allocation (allocSession), so they cannot
 * disagree (llm.c's fill_in_parameter_sizes + malloc_and_point_parameters).
 */
export interface PlanEntry {
  dtype: DType;
  length: number;
  put(t: Tensor): void;
}

/** bytes of a plan: every tensor at a 16-byte-aligned offset, as Backend.alloc places them */
export function planBytes(table: PlanEntry[]): number {
  return table.reduce((n, e) => n + Math.ceil((e.length * BYTES[e.dtype]) / 16) * 16, 0);
}

/** optimizer state tensors of each optimizer kind (each the size of the parameters) */
const OPT_TENSORS: Record<Session['optKind'], number> = { none: 0, momentum: 1, adam: 2 };

/**
 * rows of predict()'s u8 staging buffers (5 bytes per input each, for the bytes and their non-zero
 * list): a model trained with a huge batch does not make a one-image predict() allocate for it
 */
const STAGE_ROWS = 1024;

export function resolveConfig(config: ModelConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) throw new UsageError(`a model config is an object such as { layers: [784, 64, 10] }, got ${String(config)}`);
  const layers = config.layers;
  const shorthand = Array.isArray(layers) && layers.length > 0 && layers.every((n) => typeof n === 'number');
  let input: number[], list: LayerDesc[];
  if (shorthand) {
    const widths = layers as number[];
    if (widths.length < 2) throw new UsageError('layers must list at least the input and output sizes, e.g. [784, 64, 10]');
    for (const n of widths) {
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`layer sizes must be positive integers, got ${JSON.stringify(widths)}`);
    }
    const hidden = widths.length - 2;
    const act = config.activation ?? 'sigmoid';
    const acts = Array.isArray(act) ? act.slice() : new Array<ActivationName>(hidden).fill(act);
    if (acts.length !== hidden) throw new UsageError(`${acts.length} activations given for ${hidden} hidden layers`);
    for (const a of acts) if (!ACTIVATIONS.includes(a)) throw new UsageError(`unknown activation '${a}': use one of ${ACTIVATIONS.join(', ')}`);
    const dr = config.dropout ?? 0;
    const rates = Array.isArray(dr) ? dr.slice() : new Array<number>(hidden).fill(dr);
    if (rates.length !== hidden) throw new UsageError(`${rates.length} dropout rates given for ${hidden} hidden layers`);
    for (const r of rates) if (!(r >= 0 && r < 1)) throw new UsageError(`dropout rates must be in [0, 1), got ${r}`);
    // each step's masks come from streams step * 64 + layer (src/nn/layers.ts): a 65th layer would repeat the next step's first
    if (rates.some((r, l) => r > 0 && l >= 64)) throw new UsageError(`dropout works on the first 64 hidden layers; this network has ${hidden}: give the deeper layers a rate of 0`);
    const shape = config.inputShape ?? config.imageShape;
    checkShape(shape, widths[0]);
    input = shape ? shape.slice() : [widths[0]];
    list = shorthandLayers(widths, acts, rates);
  } else {
    if (!Array.isArray(layers) || layers.length < 1) throw new UsageError("layers must be a list of layers, e.g. [dense(64, 'relu'), dense(10)], or the widths [784, 64, 10]");
    if (config.activation !== undefined || config.dropout !== undefined) throw new UsageError('activation and dropout go with the shorthand widths (layers: [784, 64, 10]); in a layer list give them as layers: dense(64, \'relu\'), dropout(0.3)');
    const shape = config.inputShape ?? config.imageShape;
    if (!shape) throw new UsageError('a layer list needs inputShape, the shape of one input, e.g. [28, 28] or [784]');
    checkShape(shape);
    if (config.inputShape && config.imageShape && JSON.stringify(config.inputShape) !== JSON.stringify(config.imageShape)) throw new UsageError(`inputShape ${JSON.stringify(config.inputShape)} and imageShape ${JSON.stringify(config.imageShape)} disagree: give one`);
    input = shape.slice();
    list = (layers as unknown[]).map((l, i) => checkLayer(l, `layer ${i + 1}`));
  }
  const loss = config.loss ?? 'ce';
  if (!LOSSES.includes(loss)) throw new UsageError(`unknown loss '${loss}': use ce or mse`);
  const model: ModelDescription = { input, layers: list, loss };
  const built = buildLayers(model); // checks that the layers chain
  if (!built.some((l) => l.params.length > 0)) throw new UsageError('the network has no layer with weights: give at least one dense layer');
  const out = built[built.length - 1].outShape.reduce((a, b) => a * b, 1);
  if (loss === 'ce' && out < 2) throw new UsageError('softmax cross-entropy needs at least 2 classes');
  const init = config.init ?? 'auto';
  if (!INITS.includes(init)) throw new UsageError(`unknown init '${init}': use one of ${INITS.join(', ')}`);
  const initScale = config.initScale ?? 0.01;
  // init 'normal' draws up to 6.67 standard deviations (Rng.normal): above this, initial weights overflow float32 to Infinity
  if (!(initScale > 0 && initScale <= 5e37)) throw new UsageError(`initScale must be a positive number of at most 5e37 (larger initial weights overflow float32), got ${initScale}`);
  const seed = config.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`seed must be an integer in [0, 2^32), got ${seed}`);
  const inputScale = config.inputScale ?? 1 / 255;
  if (!(inputScale > 0 && Number.isFinite(inputScale))) throw new UsageError(`inputScale (the factor applied to u8 pixels, default 1/255) must be a positive finite number, got ${inputScale}`);
  const stack = denseStack(model);
  const inputs = input.reduce((a, b) => a * b, 1);
  return {
    model,
    layers: stack?.layers ?? [inputs, out],
    activations: stack?.activations ?? [],
    loss,
    init,
    initScale,
    seed,
    inputScale,
    imageShape: input.slice(),
    dropout: stack?.dropout ?? [],
  };
}

/** an input shape: positive integer sizes (whose product is `inputs`, when given) */
function checkShape(shape: number[] | undefined, inputs?: number): void {
  if (shape === undefined) return;
  if (!Array.isArray(shape) || shape.length < 1 || !shape.every((n) => Number.isInteger(n) && n > 0) || (inputs !== undefined && shape.reduce((a, b) => a * b, 1) !== inputs)) {
    throw new UsageError(inputs !== undefined
      ? `imageShape ${JSON.stringify(shape)} does not describe the ${inputs} inputs: give positive integer sizes whose product is ${inputs}, e.g. [28, 28] for 784`
      : `inputShape ${JSON.stringify(shape)} is not a shape: give positive integer sizes, e.g. [28, 28] or [784]`);
  }
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * The network without its training loop: the public Model (src/train/model.ts) adds fit(), so that
 * this folder imports nothing from src/train/.
 */
export class Network {
  readonly config: ResolvedConfig;
  readonly backend: Backend;
  /** the layers, in order (src/nn/layers.ts) */
  readonly layers: Layer[];
  /** the layers with weights (Dense), in order: what getWeights() lists */
  readonly dense: Dense[];
  /** each layer's parameter and buffer tensors (views of the blocks), in spec order */
  private readonly paramViews: Tensor<'f32'>[][];
  private readonly bufferViews: Tensor<'f32'>[][];
  /** the first layer is a Dense, which reads sparse batches through their non-zero lists (any other first layer reads the dense input) */
  private readonly sparseFirst: boolean;
  /**
   * the pixel scale gather_rows_u8 takes: the wasm kernels round it to f32; the TS backend multiplies
   * by it as given. A first Dense keeps the value as given (what MLPs have always computed); any
   * other first layer takes it as an f32, so every backend scales the pixels to the same bits (the
   * conv, pool and batch-norm kernels then give the same bits on every backend)
   */
  private readonly gatherScale: number;
  /** per layer: a layer below it has parameters, so its backward computes the input gradient */
  private readonly needDx: boolean[];
  /** all trainable parameters, contiguous (each tensor 16-byte aligned), so one call updates them */
  readonly params: Tensor<'f32'>;
  readonly grads: Tensor<'f32'>;
  /** the trainable parameters (Keras's count: the mnist_convnet has 34,826) */
  readonly paramCount: number;
  /**
   * the parameter block's length in floats: paramCount plus the padding that starts each tensor at
   * 16 bytes; what readParams() returns, writeParams() and a checkpoint's parameters hold
   */
  readonly paramBlockLength: number;
  /** non-trainable buffers (running statistics, ...): a block of their own, never updated by an optimizer (empty for dense, activation and dropout layers) */
  readonly buffers: Tensor<'f32'>;
  readonly bufferCount: number;
  /** optimizer steps taken (Adam's t) */
  step = 0;
  /** epochs completed by fit() */
  epochsDone = 0;
  /** the shuffling stream; its state is part of a checkpoint */
  readonly rng: Rng;
  /** set while fit() runs */
  training = false;
  /** @internal the training sample order of the last fit(): the next fit() on data of that size continues it */
  sampleOrder: Int32Array | null = null;

  private session: Session | null = null;
  /**
   * the optimizer state of a session freed by a re-plan that then failed (its memory would not
   * fit): restored by the next plan with the same optimizer kind
   */
  private savedOpt: { kind: Session['optKind']; values: Float32Array[] } | null = null;
  /** set by dispose(): the memory is the backend's again */
  private disposed = false;

  constructor(config: ModelConfig, backend: Backend) {
    this.config = resolveConfig(config);
    this.backend = backend;
    this.layers = buildLayers(this.config.model);
    this.dense = this.layers.filter((l): l is Dense => l instanceof Dense);
    this.sparseFirst = this.layers[0] instanceof Dense;
    this.gatherScale = this.sparseFirst ? this.config.inputScale : Math.fround(this.config.inputScale);
    this.needDx = this.layers.map((_, i) => this.layers.slice(0, i).some((l) => l.params.length > 0));
    // the parameter and buffer blocks: each layer's tensors in order, each at a multiple of 4 floats
    const offsets = (specs: (l: Layer) => { shape: number[] }[]) => {
      let total = 0;
      const at = this.layers.map((l) => specs(l).map((t) => {
        const o = total;
        total += align4(t.shape.reduce((a, b) => a * b, 1));
        return o;
      }));
      return { total, at };
    };
    const p = offsets((l) => l.params), bf = offsets((l) => l.buffers);
    this.paramBlockLength = p.total;
    this.paramCount = this.layers.reduce((n, l) => n + l.params.reduce((m, t) => m + t.shape.reduce((a, b) => a * b, 1), 0), 0);
    this.bufferCount = bf.total;
    // parameters, gradients and buffers are allocated now: refuse, in one line, blocks that cannot fit
    checkPlanFits(backend, backend.mark(), (2 * align4(p.total) + align4(bf.total)) * 4, 1, 'the parameters of this network');
    this.params = backend.alloc('f32', p.total);
    this.grads = backend.alloc('f32', p.total);
    this.buffers = backend.alloc('f32', bf.total);
    const view = (t: Tensor<'f32'>, at: number, shape: number[]) => backend.slice(t, at, shape.reduce((a, b) => a * b, 1));
    this.paramViews = this.layers.map((l, i) => l.params.map((t, j) => view(this.params, p.at[i][j], t.shape)));
    this.bufferViews = this.layers.map((l, i) => l.buffers.map((t, j) => view(this.buffers, bf.at[i][j], t.shape)));
    this.layers.forEach((l, i) => l.bind(this.paramViews[i], l.params.map((t, j) => view(this.grads, p.at[i][j], t.shape)), this.bufferViews[i]));
    this.rng = new Rng(this.config.seed ^ 0x5eed);
    this.initialize();
  }

  /** create a model on a backend (an instance, or a preference: 'auto' picks wasm SIMD, else wasm scalar, else TS; default $SIMDNET_BACKEND, else 'auto', as createBackend) */
  static async create<M extends Network>(this: new (config: ModelConfig, backend: Backend) => M, config: ModelConfig, options: { backend?: Backend | BackendPreference; threads?: number } = {}): Promise<M> {
    const b = options.backend;
    if (b && typeof b === 'object' && options.threads !== undefined) throw new UsageError('Model.create: threads goes to createBackend when you pass a backend instance, not here');
    const backend = b && typeof b === 'object' ? b : await createBackend({ prefer: b, threads: options.threads }); // none given: $SIMDNET_BACKEND, else auto
    return new this(config, backend);
  }

  get inputs(): number {
    return this.config.layers[0];
  }
  get classes(): number {
    return this.layers[this.layers.length - 1].outShape.reduce((a, b) => a * b, 1);
  }

  /** seeded initialisation (on the host, so every backend starts from the same weights): each layer's tensors in order */
  initialize(): void {
    this.assertLive();
    const rng = new Rng(this.config.seed);
    const fill = (t: Tensor<'f32'>, spec: Layer['params'][number]) => {
      const w = new Float32Array(t.length);
      if (spec.init === 'ones') w.fill(1);
      else if (spec.init === 'fan') {
        const fin = spec.fanIn!, fout = spec.fanOut!;
        let init = this.config.init;
        if (init === 'auto') init = spec.activation === 'relu' ? 'he-normal' : 'xavier-uniform';
        for (let i = 0; i < w.length; i++) {
          switch (init) {
            case 'xavier-uniform': w[i] = (rng.float() * 2 - 1) * Math.sqrt(6 / (fin + fout)); break;
            case 'xavier-normal': w[i] = rng.normal() * Math.sqrt(2 / (fin + fout)); break;
            case 'he-uniform': w[i] = (rng.float() * 2 - 1) * Math.sqrt(6 / fin); break;
            case 'he-normal': w[i] = rng.normal() * Math.sqrt(2 / fin); break;
            default: w[i] = rng.normal() * this.config.initScale;
          }
        }
      }
      this.backend.write(t, w);
    };
    this.layers.forEach((l, i) => {
      l.params.forEach((spec, j) => fill(this.paramViews[i][j], spec));
      l.buffers.forEach((spec, j) => fill(this.bufferViews[i][j], spec));
    });
    this.step = 0;
    this.epochsDone = 0;
    // a fresh start: the shuffling stream and the sample order begin again as in a new model
    this.rng.setState(new Rng(this.config.seed ^ 0x5eed).getState());
    this.sampleOrder = null;
    if (this.session) for (const t of this.session.opt) this.backend.fill(t, t.length, 0);
    this.savedOpt = null;
  }

  /** copies of each dense layer's weights (inputs x outputs, row-major) and biases */
  getWeights(): { W: Float32Array; b: Float32Array }[] {
    this.assertLive();
    return this.dense.map((l) => ({ W: this.backend.read(l.W), b: this.backend.read(l.b) }));
  }

  setWeights(weights: { W: ArrayLike<number>; b: ArrayLike<number> }[]): void {
    this.assertLive();
    if (!Array.isArray(weights) || weights.length !== this.dense.length) throw new UsageError(`expected weights for ${this.dense.length} dense layers, got ${Array.isArray(weights) ? weights.length : String(weights)}`);
    // every layer is checked before any is written: a refused call leaves the model as it was
    weights.forEach((w, l) => {
      const layer = this.dense[l];
      if (w.W.length !== layer.W.length || w.b.length !== layer.b.length) {
        throw new UsageError(`layer ${l + 1}: expected ${layer.inputs}x${layer.outputs} weights and ${layer.outputs} biases`);
      }
      checkFinite(w.W, `setWeights: layer ${l + 1}'s weights`);
      checkFinite(w.b, `setWeights: layer ${l + 1}'s biases`);
    });
    weights.forEach((w, l) => {
      const layer = this.dense[l];
      this.backend.write(layer.W, w.W);
      this.backend.write(layer.b, w.b);
    });
  }

  /** the whole parameter block (incl. alignment padding), for checkpoints */
  readParams(): Float32Array {
    this.assertLive();
    return this.backend.read(this.params);
  }
  writeParams(values: ArrayLike<number>): void {
    this.assertLive();
    if (values.length !== this.paramBlockLength) throw new UsageError(`expected the parameter block's ${this.paramBlockLength} values (readParams()'s length), got ${values.length}`);
    checkFinite(values, 'writeParams: the parameters');
    this.backend.write(this.params, values);
  }

  /** the whole buffer block (running statistics; incl. alignment padding), for checkpoints */
  readBuffers(): Float32Array {
    this.assertLive();
    return this.backend.read(this.buffers);
  }
  writeBuffers(values: ArrayLike<number>): void {
    this.assertLive();
    if (values.length !== this.bufferCount) throw new UsageError(`expected ${this.bufferCount} buffer values, got ${values.length}`);
    checkFinite(values, 'writeBuffers: the buffers');
    this.backend.write(this.buffers, values);
  }

  /**
   * copies of every layer's parameters and buffers by name, 'layers.{i}.{name}' (i: the layer's index
   * in the list; e.g. layers.0.W, layers.0.b, layers.2.gamma, layers.2.variance): what model files hold
   */
  getLayerTensors(): Record<string, Float32Array> {
    this.assertLive();
    const out: Record<string, Float32Array> = {};
    this.layers.forEach((l, i) => {
      l.params.forEach((t, j) => (out[`layers.${i}.${t.name}`] = this.backend.read(this.paramViews[i][j])));
      l.buffers.forEach((t, j) => (out[`layers.${i}.${t.name}`] = this.backend.read(this.bufferViews[i][j])));
    });
    return out;
  }

  /** set every layer's parameters and buffers from getLayerTensors()'s names (all of them, of the right sizes and finite; checked before any is written) */
  setLayerTensors(tensors: Record<string, ArrayLike<number>>): void {
    this.assertLive();
    const writes: [Tensor<'f32'>, ArrayLike<number>][] = [];
    const expected = new Set<string>();
    this.layers.forEach((l, i) => {
      const each = (specs: Layer['params'], views: Tensor<'f32'>[]) => specs.forEach((t, j) => {
        const name = `layers.${i}.${t.name}`, v = tensors[name];
        expected.add(name);
        if (!v || v.length !== views[j].length) throw new UsageError(`setLayerTensors: ${name} must hold ${views[j].length} values (${t.shape.join('x')}), got ${v ? v.length : 'none'}`);
        checkFinite(v, `setLayerTensors: ${name}`);
        writes.push([views[j], v]);
      });
      each(l.params, this.paramViews[i]);
      each(l.buffers, this.bufferViews[i]);
    });
    for (const name of Object.keys(tensors)) if (!expected.has(name)) throw new UsageError(`setLayerTensors: ${name} belongs to no layer of this network (its tensors: ${[...expected].join(', ')})`);
    for (const [t, v] of writes) this.backend.write(t, v);
  }

  // ---- memory planning ------------------------------------------------------------------------

  /**
   * Make sure the session memory fits this batch size, optimizer and datasets; re-plans (keeping
   * the optimizer state) only when one of them changes, so repeated calls cost nothing.
   */
  plan(batch: number, optKind: Session['optKind'] | null, datasets: DataSet[], augment?: ResolvedAugment | null): Session {
    this.assertLive();
    const s = this.session;
    const kind = optKind ?? s?.optKind ?? 'none';
    // an optimizer kind asks for training steps; evaluate() and predict() (null) take any session
    const trains = optKind !== null;
    // augmentation buffers are kept across re-plans unless fit() asks for other settings (null: none)
    const aug = augment === undefined ? (s?.aug?.cfg ?? null) : augment;
    const sameAug = JSON.stringify(s?.aug?.cfg ?? null) === JSON.stringify(aug);
    if (s && s.batch === batch && s.optKind === kind && (s.trains || !trains) && sameAug && datasets.every((d) => s.resident.has(d))) return s;
    if (this.training) throw new SimdnetError('this model is training: its memory cannot be re-planned until fit() returns (evaluate() and predict() work meanwhile)');

    for (const d of datasets) this.checkData(d);
    // keep what is resident and the optimizer state across the re-plan
    const keep = new Set<DataSet>(datasets);
    if (s) for (const d of s.resident.keys()) if (keep.size < 3) keep.add(d);
    if (s && s.opt.length) this.savedOpt = { kind: s.optKind, values: s.opt.map((t) => this.backend.read(t)) };

    // the old session's tensors go back to the backend, whose later allocations reuse them (the
    // new session's first), so models sharing a backend re-plan in turn without the memory growing
    const be = this.backend;
    if (s) this.freeOwned(s.owned);
    this.session = null;
    const kept = [...keep];
    this.checkFits(be.mark(), batch, kind, kept, aug, trains);
    const session = this.allocSession(batch, kind, kept, aug, trains);
    const saved = this.savedOpt;
    if (saved && saved.kind === kind) saved.values.forEach((v, i) => be.write(session.opt[i], v));
    this.savedOpt = null;
    this.session = session;
    return session;
  }

  /** give a session's tensors (or a failed allocation's) back to the backend */
  private freeOwned(owned: Tensor[]): void {
    for (const t of owned) this.backend.free(t);
    owned.length = 0;
  }

  /** bytes of the session plan for this batch size, optimizer kind, datasets and augmentation (the table checkFits and buildSession share) */
  planSize(batch: number, optKind: Session['optKind'], datasets: DataSet[], augment: ResolvedAugment | null = null, trains = true): number {
    return planBytes(this.planTable(this.skeleton(batch, optKind, trains), datasets, augment));
  }

  /** refuse (before allocating anything) a session that would not fit the wasm memory from `start` */
  private checkFits(start: number, batch: number, kind: Session['optKind'], keep: DataSet[], aug: ResolvedAugment | null, trains: boolean): void {
    checkPlanFits(this.backend, start, planBytes(this.planTable(this.skeleton(batch, kind, trains), keep, aug)), batch);
  }

  /** a session with no tensors yet: planTable's entries fill them in */
  private skeleton(batch: number, kind: Session['optKind'], trains: boolean): Session {
    const none = null as unknown as Tensor<'f32'>;
    return {
      be: this.backend, seed: this.config.seed, step: this.step, inputScale: this.config.inputScale, fuse: false,
      batch, optKind: kind, trains, input: none, outs: this.layers.map(() => null), work: this.layers.map(() => []), route: { train: [], eval: [] }, last: none,
      probs: none, dA: none, dB: none, labels: none as unknown as Tensor<'i32'>, preds: none as unknown as Tensor<'i32'>, order: none as unknown as Tensor<'i32'>,
      orderHost: new Int32Array(0), opt: [], resident: new Map(), sparse: null, aug: null, fused: null, rest: null, stage: null, owned: [],
    };
  }

  /**
   * The memory plan of a session: one row per tensor, from the layers' shapes (the input, each
   * layer's own output, the dropout outputs while training), the loss, the gradient buffers, the
   * optimizer state, the augmentation buffers and the resident datasets. checkFits sums it; buildSession allocates it.
   */
  private planTable(s: Session, keep: DataSet[], aug: ResolvedAugment | null): PlanEntry[] {
    const B = s.batch, t: PlanEntry[] = [];
    const f32 = (length: number, put: (x: Tensor<'f32'>) => void) => t.push({ dtype: 'f32', length, put: put as (x: Tensor) => void });
    const i32 = (length: number, put: (x: Tensor<'i32'>) => void) => t.push({ dtype: 'i32', length, put: put as (x: Tensor) => void });
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    let widest = this.inputs;
    f32(B * this.inputs, (x) => (s.input = x));
    this.layers.forEach((l, i) => {
      widest = Math.max(widest, size(l.outShape));
      if (l.output === 'own') f32(B * size(l.outShape), (x) => (s.outs[i] = x));
    });
    f32(B * this.classes, (x) => (s.probs = x));
    if (s.trains) {
      f32(B * widest, (x) => (s.dA = x));
      f32(B * widest, (x) => (s.dB = x));
      this.layers.forEach((l, i) => {
        if (l.output === 'train-own') f32(B * size(l.outShape), (x) => (s.outs[i] = x));
      });
    }
    // each layer's workspace (pooling indices, batch statistics, a transposed filter)
    this.layers.forEach((l, i) => {
      for (const w of l.workspace?.(B) ?? []) t.push({ dtype: w.dtype, length: w.length, put: (x) => s.work[i].push(x) });
    });
    i32(B, (x) => (s.labels = x));
    i32(B, (x) => (s.preds = x));
    const maxCount = Math.max(B, ...keep.map((d) => d.count));
    i32(maxCount, (x) => (s.order = x));
    for (let k = 0; k < OPT_TENSORS[s.optKind]; k++) f32(this.paramBlockLength, (x) => s.opt.push(x));
    if (aug) {
      const { W, H } = imageSize(this.inputs, this.config.imageShape);
      const sc = augmentScratch(W, H, aug.sigma);
      const a = Object.assign(this.u8BatchRows(t, B), { cfg: aug, W, H, R: sc.R, weights: sc.weights }) as AugmentBuffers & { weights?: Float32Array };
      f32(sc.length, (x) => (a.field = x));
      f32(B * 4, (x) => (a.params = x));
      s.aug = a;
    }
    for (const d of keep) {
      const r = { images: null, labels: null, nz: null } as unknown as Resident;
      t.push({ dtype: 'u8', length: d.count * d.features, put: (x) => (r.images = x as Tensor<'u8'>) });
      t.push({ dtype: 'u8', length: d.count, put: (x) => (r.labels = x as Tensor<'u8'>) });
      // the non-zero lists serve a first Dense only (other first layers read the dense input)
      if (this.sparseFirst && wantsSparseIndex(d)) {
        const nz = { start: null, idx: null, counts: new Int32Array(0) } as unknown as NonNullable<Resident['nz']>;
        i32(d.count + 1, (x) => (nz.start = x));
        i32(Math.max(1, countNonzero(d)), (x) => (nz.idx = x));
        r.nz = nz;
      }
      s.resident.set(d, r);
    }
    return t;
  }

  /** the rows of a U8Batch of `rows` rows (its non-zero lists sized for every input non-zero); filled in by allocation */
  private u8BatchRows(t: PlanEntry[], rows: number): U8Batch {
    const C = this.inputs;
    const u = { images: null, ident: null, res: null } as unknown as U8Batch;
    const nz = { start: null, idx: null, counts: new Int32Array(0) } as unknown as NonNullable<Resident['nz']>;
    t.push({ dtype: 'u8', length: rows * C, put: (x) => (u.images = x as Tensor<'u8'>) });
    t.push({ dtype: 'i32', length: rows, put: (x) => (u.ident = x as Tensor<'i32'>) });
    t.push({ dtype: 'i32', length: rows + 1, put: (x) => (nz.start = x as Tensor<'i32'>) });
    t.push({ dtype: 'i32', length: rows * C, put: (x) => (nz.idx = x as Tensor<'i32'>) });
    u.res = { images: null as unknown as Tensor<'u8'>, labels: null as unknown as Tensor<'u8'>, nz };
    return u;
  }

  /** allocate a table's tensors (listed in `owned`, freed together) */
  private allocTable(owned: Tensor[], table: PlanEntry[]): void {
    for (const e of table) e.put(this.allocOwned(owned, e.dtype, e.length));
  }

  /** a U8Batch's values once allocated: the identity order, and the batch as a resident dataset */
  private finishU8Batch(u: U8Batch): void {
    const be = this.backend;
    be.write(u.ident, identity(u.ident.length));
    u.res.images = u.images;
    u.res.labels = be.slice(u.images, 0, 0);
  }

  /** allocate a session's tensors and make `keep` resident in it (nothing stays allocated if it fails) */
  private allocSession(batch: number, kind: Session['optKind'], keep: DataSet[], aug: ResolvedAugment | null, trains: boolean): Session {
    const owned: Tensor[] = [];
    try {
      return this.buildSession(owned, batch, kind, keep, aug, trains);
    } catch (e) {
      this.freeOwned(owned);
      throw e;
    }
  }

  private buildSession(owned: Tensor[], batch: number, kind: Session['optKind'], keep: DataSet[], aug: ResolvedAugment | null, trains: boolean): Session {
    const be = this.backend;
    const s = this.skeleton(batch, kind, trains);
    s.owned = owned;
    this.allocTable(owned, this.planTable(s, keep, aug));
    s.orderHost = new Int32Array(s.order.length);
    // each layer reads the previous one's output; in-place layers (and dropout in evaluation) pass their input on
    for (const training of trains ? [true, false] : [false]) {
      let x = s.input;
      const r = training ? s.route.train : s.route.eval;
      for (const [i, l] of this.layers.entries()) {
        const y = l.output === 'own' || (training && l.output === 'train-own') ? s.outs[i]! : x;
        r.push({ x, y });
        x = y;
      }
    }
    s.last = s.route.eval[s.route.eval.length - 1].y;
    if (s.aug) {
      const a = s.aug as AugmentBuffers & { weights?: Float32Array };
      this.finishU8Batch(a);
      be.write(a.field, a.weights!);
      delete a.weights;
    }
    for (const d of keep) {
      const { images, labels, nz } = s.resident.get(d)!;
      be.write(images, d.images.subarray(0, d.count * d.features));
      be.write(labels, d.labels.subarray(0, d.count));
      if (nz) {
        be.nz_count(nz.start, images, d.count, d.features);
        be.nz_fill(nz.idx, nz.start, images, d.count, d.features);
        const prefix = be.read(nz.start);
        const counts = new Int32Array(d.count);
        for (let i = 0; i < d.count; i++) counts[i] = prefix[i + 1] - prefix[i];
        nz.counts = counts;
      }
    }
    return s;
  }

  /**
   * evaluate() and predict() while fit() runs (from a callback, or from other code while it awaits):
   * the training session is fit()'s (its batch order, buffers and resident data), so they run in a
   * session of their own, freed when they return
   */
  private inTempSession<T>(batch: number, datasets: DataSet[], fn: (s: Session) => T): T {
    this.assertLive();
    for (const d of datasets) this.checkData(d);
    this.checkFits(this.backend.mark(), batch, 'none', datasets, null, false);
    const s = this.allocSession(batch, 'none', datasets, null, false);
    try {
      return fn(s);
    } finally {
      this.freeOwned(s.owned);
    }
  }

  /** a tensor of a session: listed in `owned`, which is freed with the session */
  private allocOwned<D extends DType>(owned: Tensor[], dtype: D, length: number): Tensor<D> {
    const t = this.backend.alloc(dtype, length);
    owned.push(t);
    return t;
  }

  /**
   * The first B rows of u8 into the first layer, as a resident batch feeds it: through their own
   * non-zero lists when sparse enough (rebuilt in wasm, two calls), else scaled into the input in wasm
   */
  private feedU8Batch(s: Session, u8: U8Batch, B: number): void {
    const be = this.backend, C = this.inputs, nz = u8.res.nz!;
    if (this.sparseFirst && C <= NZ_MAX_COLUMNS && be.nz_count(nz.start, u8.images, B, C) <= SPARSE_MAX_DENSITY * B * C) {
      be.nz_fill(nz.idx, nz.start, u8.images, B, C);
      s.sparse = { start: nz.start, idx: nz.idx, rows: u8.ident };
    } else be.gather_rows_u8(s.input, u8.images, u8.ident, B, C, this.gatherScale);
  }

  /** predict()'s staging rows, part of the session (allocated on first use, at most STAGE_ROWS rows) */
  private stageOf(s: Session): U8Batch {
    if (!s.stage) {
      const t: PlanEntry[] = [];
      const u = this.u8BatchRows(t, Math.min(s.batch, STAGE_ROWS));
      this.allocTable(s.owned, t);
      this.finishU8Batch(u);
      s.stage = u;
    }
    return s.stage;
  }

  /** reject data that does not fit this model, with both numbers in the message */
  checkData(d: DataSet, name = 'data'): void {
    if (typeof d !== 'object' || d === null) throw new UsageError(`${name} must be an object { images, labels, count, features }, got ${String(d)}`);
    // other arrays would be converted to bytes silently (300 -> 44, 0.5 -> 0) or have no subarray()
    if (!(d.images instanceof Uint8Array || (d.images as unknown) instanceof Uint8ClampedArray)) throw new UsageError(`${name}: images must be a Uint8Array of pixel values 0..255, got ${kindOf(d.images)}`);
    if (!ArrayBuffer.isView(d.labels) || d.labels instanceof DataView) throw new UsageError(`${name}: labels must be a Uint8Array of class numbers, got ${kindOf(d.labels)}`);
    if (d.features !== this.inputs) throw new SimdnetError(`${name} has ${d.features} features per image but the model takes ${this.inputs} inputs`);
    const shape = this.config.imageShape;
    if (Array.isArray(d.imageShape) && !shapesAgree(d.imageShape, shape)) {
      throw new SimdnetError(`${name}: images are ${shapeText(d.imageShape)} but the model takes ${shapeText(shape)} images (${this.inputs} values); give images of that shape${shape.length > 1 ? ` (or flat rows of ${this.inputs} values)` : ''}`);
    }
    if (!Number.isInteger(d.count)) throw new SimdnetError(`${name}: count must be a whole number of items, got ${String(d.count)}`);
    if (d.images.length < d.count * d.features || d.labels.length < d.count) throw new SimdnetError(`${name}: ${d.count} items declared but the arrays are shorter`);
    if (d.count < 1) throw new SimdnetError(`${name} is empty`);
    const V = this.classes;
    for (let i = 0; i < d.count; i++) {
      const y = d.labels[i];
      if (!(Number.isInteger(y) && y >= 0)) throw new UsageError(`${name}: label ${y} at index ${i} is not a class number: labels must be integers 0..${V - 1}`);
      if (y >= V) throw new SimdnetError(`${name}: label ${d.labels[i]} at index ${i} is out of range: the model has ${V} classes (0..${V - 1})`);
      // the resident copy of the labels is u8: 299 would be trained and scored as 43
      if (y > 255) throw new UsageError(`${name}: label ${y} at index ${i} does not fit in a byte: labels are kept as bytes, so only classes 0..255 can be trained or evaluated`);
    }
  }

  // ---- the step -------------------------------------------------------------------------------

  /** the sample order batches are drawn from (written to wasm once per epoch, mirrored on the host) */
  setOrder(s: Session, order: Int32Array): void {
    this.backend.write(s.order, order);
    s.orderHost.set(order);
  }

  /**
   * Rows order[start .. start+B) of a resident dataset: the labels, and either the inputs gathered
   * into the input or, when this batch is sparse enough (and the first layer a Dense), nothing: the
   * first layer then reads the pixels through the dataset's non-zero lists (Dense's sparse input mode).
   */
  loadBatch(s: Session, r: Resident, start: number, B: number, augment = false): void {
    const idx = this.backend.slice(s.order, start, B);
    s.sparse = null;
    if (augment && s.aug) return this.loadAugmented(s, s.aug, r, idx, B);
    if (r.nz && this.sparseFirst) {
      let nnz = 0;
      for (let i = start; i < start + B; i++) nnz += r.nz.counts[s.orderHost[i]];
      if (nnz <= SPARSE_MAX_DENSITY * B * this.inputs) s.sparse = { start: r.nz.start, idx: r.nz.idx, rows: idx };
    }
    if (!s.sparse) this.backend.gather_rows_u8(s.input, r.images, idx, B, this.inputs, this.gatherScale);
    this.backend.gather_u8(s.labels, r.labels, idx, B);
  }

  /**
   * A training batch, augmented: one call warps every row (parameters from a hash of the seed,
   * the step and the row, so reruns, resumes and every backend agree), then the warped u8 batch
   * runs the first layer sparse (its non-zero lists rebuilt: two calls) or dense by its own density.
   */
  private loadAugmented(s: Session, a: AugmentBuffers, r: Resident, idx: Tensor<'i32'>, B: number): void {
    const be = this.backend, c = a.cfg;
    be.augment_rows_u8(a.images, r.images, idx, a.params, a.field, B, a.W, a.H, (this.config.seed ^ 0x61756721) >>> 0, this.step >>> 0, c.shift, (c.rotate * Math.PI) / 180, c.scale, c.elastic, a.R, true);
    this.feedU8Batch(s, a, B);
    be.gather_u8(s.labels, r.labels, idx, B);
  }

  /** forward through every layer; leaves the logits in s.last */
  forward(s: Session, B: number, training = false): void {
    s.step = this.step;
    const route = training ? s.route.train : s.route.eval;
    for (let i = 0; i < this.layers.length; i++) this.layers[i].forward(s, route[i].y, route[i].x, B, training);
    s.last = route[route.length - 1].y;
  }

  /** loss summed over the batch (probs filled); `smoothing`: 'ce' against label-smoothed targets (training only) */
  lossForward(s: Session, B: number, smoothing = 0): number {
    return this.config.loss === 'ce'
      ? this.backend.softmax_xent_forward(s.probs, s.last, s.labels, B, this.classes, smoothing)
      : this.backend.sigmoid_mse_forward(s.probs, s.last, s.labels, B, this.classes);
  }

  /**
   * Zero the gradients, then backpropagate the mean loss of the batch into them, layer by layer
   * (after a training forward). Given the optimizer that update() will apply, a sparse first Dense's
   * weight gradient is left to update() (the optimizer fusion: SGD and momentum take it with
   * Backend.sparse_update, which sums it and steps in one pass, never storing it; the weights end
   * bit-identical to the unfused step); its bias gradient is computed here as always. `smoothing`:
   * the label smoothing of a 'ce' loss (as lossForward's).
   */
  backward(s: Session, B: number, opt?: OptimizerConfig, smoothing = 0): void {
    const be = this.backend;
    s.step = this.step;
    s.fuse = !!s.sparse && !!opt && (opt.type === 'sgd' || opt.type === 'momentum' || opt.type === 'nesterov');
    s.fused = null;
    if (s.fuse) {
      // the first layer's weight gradient is never stored: zero only the rest
      const rest = (s.rest ??= this.restViews(s));
      be.fill(rest.grads, rest.n, 0);
    } else be.fill(this.grads, this.paramBlockLength, 0);
    let cur = s.dA, next = s.dB;
    if (this.config.loss === 'ce') be.softmax_xent_backward(cur, s.probs, s.labels, B, this.classes, 1 / B, smoothing);
    else be.sigmoid_mse_backward(cur, s.probs, s.labels, B, this.classes, 1 / B);
    const route = s.route.train;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i], { x, y } = route[i];
      // no input gradient where no layer below has parameters (a first layer's never)
      if (layer.gradInPlace) layer.backward(s, this.needDx[i] ? cur : null, cur, x, y, B);
      else {
        layer.backward(s, this.needDx[i] || layer.alwaysDx ? next : null, cur, x, y, B);
        const t = cur;
        cur = next;
        next = t;
      }
    }
  }

  /** views of everything after the first layer's weights (its bias onwards), for the fused step */
  private restViews(s: Session): NonNullable<Session['rest']> {
    const be = this.backend, first = this.layers[0] as Dense, nw = first.W.length;
    const at = align4(nw), n = this.paramBlockLength - at; // the first layer's W opens the parameter block (the constructor's layout)
    const vel = s.opt.length ? s.opt[0] : null;
    return {
      params: be.slice(this.params, at, n), grads: be.slice(this.grads, at, n), n,
      vel: vel && be.slice(vel, at, n), firstVel: vel && be.slice(vel, 0, nw),
    };
  }

  /**
   * One optimizer update of all parameters in one call (never the buffer block). Returns the
   * update's divergence guard (Backend.sgd_update): 0 applied, > 0 non-finite gradients (nothing
   * changed), < 0 elements whose update overflowed (kept at their old values).
   */
  update(s: Session, opt: OptimizerConfig, lr: number): number {
    const be = this.backend, n = this.paramBlockLength;
    this.step++;
    const f = s.fused;
    if (f) {
      s.fused = null;
      const first = f.layer, mom = opt.type !== 'sgd';
      const rest = (s.rest ??= this.restViews(s));
      // nothing changes unless every gradient is finite: dZ1 (small, B x OC) first, then the rest's
      // update scans its own gradients before writing, then the first layer (which checks dZ1 again)
      const bad = be.count_nonfinite(f.dout, f.B * first.outputs);
      if (bad) return bad;
      const g2 = mom
        ? be.momentum_update(rest.params, rest.grads, rest.vel!, rest.n, lr, opt.momentum, opt.weightDecay, opt.type === 'nesterov' ? 1 : 0)
        : be.sgd_update(rest.params, rest.grads, rest.n, lr, opt.weightDecay);
      if (g2 > 0) return g2;
      const sp = f.sparse;
      const g1 = be.sparse_update(first.W, mom ? rest.firstVel : null, first.dW, f.dout, sp.start, sp.idx, sp.rows, f.B, first.inputs, first.outputs, this.config.inputScale, lr, opt.momentum, opt.weightDecay, opt.type === 'nesterov' ? 1 : 0);
      return g1 + g2;
    }
    switch (opt.type) {
      case 'sgd':
        return be.sgd_update(this.params, this.grads, n, lr, opt.weightDecay);
      case 'momentum':
      case 'nesterov':
        return be.momentum_update(this.params, this.grads, s.opt[0], n, lr, opt.momentum, opt.weightDecay, opt.type === 'nesterov' ? 1 : 0);
      default: {
        const t = this.step;
        return be.adam_update(this.params, this.grads, s.opt[0], s.opt[1], n, lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay, opt.type === 'adamw' ? 1 : 0, 1 - Math.pow(opt.beta1, t), 1 - Math.pow(opt.beta2, t));
      }
    }
  }

  // ---- inference ------------------------------------------------------------------------------

  /**
   * Loss, accuracy, per-class accuracy and confusion matrix (rows: true class, columns: predicted)
   * over a whole dataset.
   */
  evaluate(data: DataSet, options: { batchSize?: number } = {}): Evaluation {
    const batch = options.batchSize ?? this.session?.batch ?? 256;
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`evaluate: batchSize must be a positive integer, got ${String(batch)}`);
    if (this.training) return this.inTempSession(batch, [data], (s) => this.evaluateIn(s, data, batch));
    return this.evaluateIn(this.plan(batch, null, [data]), data, batch);
  }

  /**
   * @internal fit()'s own evaluations between epochs, in the training session where the data is
   * resident: one batch per step, each step yielding the samples done so far, the Evaluation at the
   * end. fit() yields to the event loop between steps (evaluate() drains the same steps at once)
   */
  evaluateResident(data: DataSet, batch: number): Generator<number, Evaluation, void> {
    return this.evaluateSteps(this.plan(batch, null, [data]), data, batch);
  }

  private evaluateIn(s: Session, data: DataSet, batch: number): Evaluation {
    const steps = this.evaluateSteps(s, data, batch);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  private *evaluateSteps(s: Session, data: DataSet, batch: number): Generator<number, Evaluation, void> {
    const r = s.resident.get(data)!;
    const be = this.backend, V = this.classes;
    this.setOrder(s, identity(data.count));
    const confusion = Array.from({ length: V }, () => new Array<number>(V).fill(0));
    let loss = 0, correct = 0;
    for (let start = 0; start < data.count; start += batch) {
      const B = Math.min(batch, data.count - start);
      this.loadBatch(s, r, start, B);
      this.forward(s, B);
      loss += this.lossForward(s, B);
      correct += be.argmax_rows(s.preds, s.last, s.labels, B, V);
      const preds = be.view(s.preds);
      for (let i = 0; i < B; i++) confusion[data.labels[start + i]][preds[i]]++;
      if (start + B < data.count) yield start + B;
    }
    const perClass = confusion.map((row, c) => {
      const n = row.reduce((a, x) => a + x, 0);
      return n ? row[c] / n : NaN;
    });
    return { loss: loss / data.count, accuracy: correct / data.count, correct, count: data.count, perClass, confusion };
  }

  /**
   * Class probabilities (count, classes) for raw u8 pixels (scaled by inputScale) or already
   * scaled f32 inputs, row-major (count, inputs). u8 rows take the path of training and evaluate():
   * into wasm as bytes, the first layer through their own non-zero lists when sparse enough.
   */
  predict(inputs: Uint8Array | Float32Array, count?: number): Float32Array {
    if (!(inputs instanceof Uint8Array || inputs instanceof Float32Array || (inputs as unknown) instanceof Uint8ClampedArray)) {
      throw new UsageError(`predict: inputs must be a Uint8Array of pixels or a Float32Array of scaled values, got ${kindOf(inputs)}`);
    }
    if (count === undefined) {
      // a length that is not a whole number of rows is a wrong input size, not rows to drop silently
      if (inputs.length % this.inputs !== 0) throw new UsageError(`predict: ${inputs.length} values are not a whole number of inputs of ${this.inputs} values; pass rows of ${this.inputs} values (or count, to use the first rows only)`);
      count = inputs.length / this.inputs;
    }
    if (!Number.isInteger(count) || count < 0) throw new UsageError(`predict: count must be an integer >= 0, got ${String(count)}`);
    if (inputs.length < count * this.inputs) throw new UsageError(`predict: ${count} inputs of ${this.inputs} values need ${count * this.inputs} values, got ${inputs.length}`);
    if (inputs instanceof Float32Array) checkFinite(inputs.subarray(0, count * this.inputs), 'predict: the inputs');
    const batch = this.session?.batch ?? 256, n = count;
    if (this.training) return this.inTempSession(batch, [], (s) => this.predictIn(s, inputs, n, batch));
    return this.predictIn(this.plan(batch, null, []), inputs, n, batch);
  }

  private predictIn(s: Session, inputs: Uint8Array | Float32Array, count: number, batch: number): Float32Array {
    const be = this.backend, V = this.classes, D = this.inputs;
    const out = new Float32Array(count * V);
    // u8 rows go through the staging buffers, which hold at most STAGE_ROWS rows
    if (!(inputs instanceof Float32Array)) batch = Math.min(batch, STAGE_ROWS);
    for (let start = 0; start < count; start += batch) {
      const B = Math.min(batch, count - start);
      const rows = inputs.subarray(start * D, (start + B) * D);
      s.sparse = null;
      if (rows instanceof Float32Array) be.write(s.input, rows);
      else {
        const st = this.stageOf(s);
        be.write(st.images, rows);
        this.feedU8Batch(s, st, B);
      }
      this.forward(s, B);
      be.fill(s.labels as unknown as Tensor<'f32'>, B, 0); // labels are unused by the probabilities; keep the loss finite
      this.lossForward(s, B);
      out.set(be.view(s.probs).subarray(0, B * V), start * V);
    }
    return out;
  }

  /** predicted class per row */
  predictClasses(inputs: Uint8Array | Float32Array, count?: number): Int32Array {
    const p = this.predict(inputs, count);
    const V = this.classes, n = p.length / V;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (p[i * V + v] > p[i * V + best]) best = v;
      out[i] = best;
    }
    return out;
  }

  /**
   * Give this model's memory (weights, gradients, session) back to its backend, whose later
   * allocations reuse it: for models that share a backend and come and go (a model with a backend of
   * its own is freed with it by the garbage collector). The model cannot be used afterwards.
   */
  dispose(): void {
    if (this.disposed) return;
    if (this.training) throw new SimdnetError('this model is training: dispose() it after fit() returns');
    if (this.session) this.freeOwned(this.session.owned);
    this.session = null;
    this.savedOpt = null;
    this.backend.free(this.grads);
    this.backend.free(this.params);
    this.disposed = true;
  }

  protected assertLive(): void {
    if (this.disposed) throw new UsageError('this model was disposed (dispose() gave its memory back to the backend): create or load a new one');
  }

  /** @internal for train.ts */
  get currentSession(): Session | null {
    return this.session;
  }
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  correct: number;
  count: number;
  /** accuracy per true class (NaN for a class with no samples) */
  perClass: number[];
  /** confusion[true][predicted] counts */
  confusion: number[][];
}

export type { Session, Resident };

/** refuse NaN or Infinity in values a caller hands in (they would come out as NaN predictions) */
function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new UsageError(`${what} hold ${values[i]} at index ${i}; pass finite numbers`);
  }
}

/** a value's type for a message: 'Float32Array', 'Array', 'undefined' */
function kindOf(x: unknown): string {
  return x === null || x === undefined ? String(x) : (x as object).constructor?.name ?? typeof x;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
