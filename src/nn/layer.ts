/**
 * The layer interface (src/nn/layers.ts tells the design), the layer descriptors as files store them,
 * the limits every layer kind checks, and the window arithmetic the convolution and pooling layers
 * share. Each layer kind's file imports this one; src/nn/layers.ts builds lists of them.
 */
import { conv2dShape, type ActivationName, type Backend, type DType, type Tensor } from '../core/backend.js';
import { UsageError } from '../core/errors.js';

export type LossName = 'ce' | 'mse';
export const ACTIVATIONS: readonly ActivationName[] = ['sigmoid', 'relu', 'tanh', 'linear'];
export const LOSSES: readonly LossName[] = ['ce', 'mse'];

export interface DenseDesc { type: 'dense'; units: number; activation: ActivationName }
export interface ActivationDesc { type: 'activation'; activation: ActivationName }
export interface DropoutDesc { type: 'dropout'; rate: number }
export type Padding = 'valid' | 'same';
/** a 2-D convolution over NHWC images: `filters` output channels, a KH x KW kernel, weights HWIO (KH, KW, C, F) 'W' and bias 'b' (F) */
export interface Conv2DDesc { type: 'conv2d'; filters: number; kernel: [number, number]; stride: number; padding: Padding; activation: ActivationName }
/** max-pooling over size x size windows of each channel */
export interface MaxPool2DDesc { type: 'maxpool2d'; size: number; stride: number; padding: Padding }
/** average-pooling over size x size windows of each channel (the mean of the window's elements inside the image) */
export interface AvgPool2DDesc { type: 'avgpool2d'; size: number; stride: number; padding: Padding }
/** the mean over the pixels of each channel: [H, W, C] -> [C] */
export interface GlobalAvgPoolDesc { type: 'globalavgpool' }
/** [H, W, C] -> [H W C] in NHWC order (a view: nothing is computed) */
export interface FlattenDesc { type: 'flatten' }
/** batch normalisation over the channels of an image (the features of a flat input); Keras's semantics */
export interface BatchNormDesc { type: 'batchnorm'; momentum: number; epsilon: number }
/** a layer as files, checkpoints and exporters store it (every field given) */
export type LayerDesc = DenseDesc | ActivationDesc | DropoutDesc | Conv2DDesc | MaxPool2DDesc | AvgPool2DDesc | GlobalAvgPoolDesc | FlattenDesc | BatchNormDesc;
/**
 * a layer as a caller writes it: the optional fields may be left out (Dense's and Conv2D's
 * activation 'linear', a pool's size 2, stride 1 (pools: their size), padding 'valid', momentum
 * 0.99, epsilon 0.001) and a kernel may be one number
 */
export type LayerSpec =
  | LayerDesc
  | { type: 'dense'; units: number; activation?: ActivationName }
  | { type: 'conv2d'; filters: number; kernel: number | [number, number]; stride?: number; padding?: Padding; activation?: ActivationName }
  | { type: 'maxpool2d' | 'avgpool2d'; size?: number; stride?: number; padding?: Padding }
  | { type: 'batchnorm'; momentum?: number; epsilon?: number };

/** the model: the shape of one input, the layers in order, and the loss on the last layer's output */
export interface ModelDescription {
  input: number[];
  layers: LayerDesc[];
  loss: LossName;
}

/** the most units a Dense layer may have (model files refuse more) */
export const MAX_UNITS = 1 << 24;
/** the largest kernel, window or stride side (an input holds at most 2^24 values) */
export const MAX_WINDOW = 1 << 12;
/** the most values one layer's output (per example) or parameters may hold: 1 GiB of f32 */
export const MAX_LAYER_VALUES = 1 << 28;
/** dropout masks come from streams step * 64 + stream: a 65th stream would repeat the next step's first */
export const DROPOUT_STREAMS = 64;

/** a named tensor of a layer, with its initialisation ('fan': the model's weight init, over fanIn and fanOut) */
export interface TensorSpec {
  name: string;
  shape: number[];
  init: 'fan' | 'zeros' | 'ones';
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
  /** the Dense (its weights, their gradient scratch and sizes) */
  layer: { W: Tensor<'f32'>; dW: Tensor<'f32'>; inputs: number; outputs: number };
  /** the batch's gradient at the layer's output (B, OC) */
  dout: Tensor<'f32'>;
  B: number;
  sparse: SparseInput;
}

/** a per-session tensor of a layer that is neither parameter nor gradient (pooling indices, batch statistics, a transposed filter) */
export interface WorkSpec {
  name: string;
  dtype: Extract<DType, 'f32' | 'i32'>;
  length: number;
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
  /** each layer's workspace tensors in this session (index: the layer's), in the order of its workspace() */
  work: Tensor[][];
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
  /** backward writes an input gradient even when nothing below needs it (the model then still hands it a buffer) */
  readonly alwaysDx?: boolean;
  /** per-session workspace for a batch of B rows (in the model's one memory plan); none when absent */
  workspace?(B: number): WorkSpec[];
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

/** a shape for messages: [28x28x1] */
export const shapeText = (shape: number[]) => `[${shape.join('x')}]`;

/** the output [OH, OW] of a window (conv or pool) over an image; a window that does not fit is one line naming the layer and the shapes */
export function windowOutput(where: string, inShape: number[], KH: number, KW: number, S: number, padding: Padding): { OH: number; OW: number } {
  const [H, W] = inShape;
  const { OH, OW } = conv2dShape(H, W, KH, KW, S, padding === 'same');
  if (OH < 1 || OW < 1) throw new UsageError(`${where}: a ${KH}x${KW} window does not fit its ${shapeText(inShape)} input with 'valid' padding: use a smaller kernel, 'same' padding, or fewer pooling layers before it`);
  return { OH, OW };
}
