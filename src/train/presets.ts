/**
 * Named training recipes. Explicit CLI flags override a preset's values. The accuracy each one
 * reaches is measured by `simdnet train --preset NAME` and recorded in the README's presets table;
 * docs/cli.md says how each was chosen.
 */
import type { ActivationName } from '../core/backend.js';
import type { InitName, LossName } from '../nn/model.js';
import type { OptimizerName } from './train.js';
import type { ScheduleConfig } from './schedule.js';
import type { AugmentOptions } from '../nn/augment.js';
import type { LayerSpec } from '../nn/layer.js';
import { activation, batchNorm, conv2d, dense, dropout, flatten, maxPool2d } from '../nn/layers.js';

export interface TrainSettings {
  /**
   * the network after the input as a layer list (e.g. a CNN; `simdnet train --layers`), the last
   * layer giving one output per class; when given, `hidden`, `activation` and `dropout` are not used
   */
  layers?: LayerSpec[];
  hidden: number[];
  activation: ActivationName;
  loss: LossName;
  init: InitName;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** label smoothing of the ce loss, in [0, 1) (default 0) */
  labelSmoothing?: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** learning-rate schedule (default constant) */
  schedule?: ScheduleConfig;
  /** inverted dropout after each hidden layer while training, in [0, 1) (default 0) */
  dropout?: number;
  /** hold out this fraction of the training set as validation (seeded; default none) */
  validationSplit?: number;
  /** early-stopping patience in epochs (needs validationSplit; default none) */
  earlyStopping?: number;
  /** augmentation settings used when --augment is given (defaults: src/nn/augment.ts; --augment-* flags override) */
  augment?: AugmentOptions;
}

/** the article's network and training, as `--preset article` gives them */
const ARTICLE: Partial<TrainSettings> = { hidden: [64], activation: 'sigmoid', loss: 'ce', optimizer: 'momentum', lr: 0.1, momentum: 0.9, batchSize: 32, epochs: 10 };

/**
 * `simdnet train` with no flags: the article preset's settings, so a bare run gets what `npm start`
 * (`--preset article`) gets. The library's fit() has its own documented defaults (src/train/train.ts).
 */
export const DEFAULTS: TrainSettings = {
  init: 'auto',
  weightDecay: 0,
  seed: 1,
  ...(ARTICLE as Omit<TrainSettings, 'init' | 'weightDecay' | 'seed'>),
};

/** conv KxK (linear) + batch norm + ReLU: the block the CNN presets stack */
const convBnRelu = (filters: number, k: number): LayerSpec[] => [conv2d(filters, k), batchNorm(), activation('relu')];

/**
 * cnn's network: conv 3x3x32, maxpool 2, conv 3x3x64, maxpool 2, conv 3x3x128 (on the
 * 5x5 maps: 0.66 of the 3.1 million multiply-adds per image), each conv with batch norm and ReLU, dense 10
 */
const CNN_LAYERS: LayerSpec[] = [...convBnRelu(32, 3), maxPool2d(2), ...convBnRelu(64, 3), maxPool2d(2), ...convBnRelu(128, 3), flatten(), dense(10)];

/**
 * best-cnn's network: two 3x3 convolutions per stage (32, 32, pool, 64, 64, pool; valid padding, so
 * 28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4), then dense 256 with batch norm, ReLU and dropout 0.4, dense 10
 * (330,858 parameters; 2 to 3 times cnn's time per epoch)
 */
const BEST_CNN_LAYERS: LayerSpec[] = [
  ...convBnRelu(32, 3), ...convBnRelu(32, 3), maxPool2d(2),
  ...convBnRelu(64, 3), ...convBnRelu(64, 3), maxPool2d(2),
  flatten(), dense(256), batchNorm(), activation('relu'), dropout(0.4), dense(10),
];

export const PRESETS: Record<string, { description: string; settings: Partial<TrainSettings> }> = {
  fast: {
    description: 'the quickest route to >= 97% test accuracy: 784-256-10 ReLU, Adam, 2 epochs (chosen on a 10% validation split)',
    settings: { hidden: [256], activation: 'relu', loss: 'ce', optimizer: 'adam', lr: 0.001, batchSize: 32, epochs: 2 },
  },
  article: {
    description: "the article's 784-64-10 sigmoid MLP, trained so it reaches the article's ~97% claim",
    settings: ARTICLE,
  },
  'best-mlp': {
    description: 'a plain MLP (dense layers only, no augmentation) for >= 98.5%: 784-800-800-10 ReLU, dropout 0.3, momentum, cosine schedule, 20 epochs; chosen on its 10% validation split (98.48% val, 98.65% test)',
    settings: {
      hidden: [800, 800], activation: 'relu', loss: 'ce', optimizer: 'momentum', lr: 0.05, momentum: 0.9, batchSize: 64, epochs: 20,
      dropout: 0.3, schedule: { type: 'cosine' }, validationSplit: 0.1,
    },
  },
  cnn: {
    description: 'a CNN for >= 99.2% in 2 epochs: conv 3x3x32, pool, conv 3x3x64, pool, conv 3x3x128 (batch norm + ReLU each), dense 10, Adam, cosine per batch; chosen on a 10% validation split, then trained on all 60,000 (with --validation-split 0.1: 99.18% val)',
    settings: {
      layers: CNN_LAYERS, loss: 'ce', init: 'auto', optimizer: 'adam', lr: 0.003, batchSize: 64, epochs: 2,
      schedule: { type: 'cosine', perBatch: true },
    },
  },
  'best-cnn': {
    description: "a deeper CNN for >= 99.6%: two 3x3 convolutions per stage (32, 32, pool, 64, 64, pool; batch norm + ReLU each), dense 256 with batch norm, ReLU and dropout 0.4, dense 10; Adam lr 0.003 cosine per batch, batch 64, label smoothing 0.1, best-mlp --augment's distortions, 18 epochs; chosen on a 10% validation split (99.57% and 99.50% val at the 18th epoch with seeds 1 and 2), then trained on all 60,000",
    settings: {
      layers: BEST_CNN_LAYERS, loss: 'ce', init: 'auto', optimizer: 'adam', lr: 0.003, batchSize: 64, epochs: 18,
      schedule: { type: 'cosine', perBatch: true }, labelSmoothing: 0.1,
      // best-mlp --augment's distortions, fixed up front (not tuned)
      augment: { shift: 2, rotate: 8, scale: 0.08, elastic: 30, sigma: 5 },
    },
  },
};

/**
 * Settings used instead when `--augment` is given with `--preset NAME` (applied over PRESETS[NAME]
 * when that exists): augmentation changes what trains best (more epochs, a bigger network).
 */
export const AUGMENTED_PRESETS: Record<string, { description: string; settings: Partial<TrainSettings> }> = {
  'best-mlp': {
    description: 'with --augment: 784-800-800-10 ReLU, Nesterov momentum, cosine schedule, dropout, affine + elastic distortions',
    settings: {
      hidden: [800, 800], activation: 'relu', loss: 'ce', init: 'auto', optimizer: 'nesterov', lr: 0.05, momentum: 0.9, weightDecay: 0,
      batchSize: 64, epochs: 30, schedule: { type: 'cosine' }, dropout: 0.2,
      // all 60,000 images, as in the measured run (settings fixed up front, not tuned: no hold-out needed)
      validationSplit: undefined, earlyStopping: undefined,
      augment: { shift: 2, rotate: 8, scale: 0.08, elastic: 30, sigma: 5 },
    },
  },
};
