/**
 * The networks the demo trains, as simdnet model configs: the MLP of the page's hidden-layer and
 * activation fields, or a small convnet that reads each digit as its [28, 28] image. No DOM, so Node
 * tests build them too (test/demo.networks.test.ts).
 */
import { conv2d, dense, flatten, maxPool2d, type ActivationName, type ModelConfig, type OptimizerName } from '../src/index.js';

export type NetworkKind = 'mlp' | 'cnn';
export const NETWORK_KINDS: readonly NetworkKind[] = ['mlp', 'cnn'];

/**
 * The CNN: conv 3x3x16 relu, maxpool 2, conv 3x3x32 relu, maxpool 2, flatten, dense 10 (12,810
 * parameters; the Keras mnist_convnet's shape at half its filters and without dropout). One epoch of
 * the 60,000 training images reaches about 98% test accuracy in about 18 s in a browser tab
 * (docs/api.md, "The browser demo").
 */
export function cnnLayers() {
  return [conv2d(16, 3, { activation: 'relu' }), maxPool2d(2), conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dense(10)];
}

/** the model config of a network kind; `hidden` and `activation` are the MLP's (the CNN's layers are fixed) */
export function networkConfig(kind: NetworkKind, opts: { hidden: number[]; activation: ActivationName; seed: number; features: number }): ModelConfig {
  if (kind === 'cnn') {
    if (opts.features !== 784) throw new Error(`the CNN reads 28x28 images, the data has ${opts.features} pixels per image`);
    return { layers: cnnLayers(), inputShape: [28, 28], loss: 'ce', seed: opts.seed };
  }
  return { layers: [opts.features, ...opts.hidden, 10], activation: opts.activation, loss: 'ce', seed: opts.seed, imageShape: [28, 28] };
}

/**
 * The optimizer settings the page fills in when a network kind is picked (the user may change them):
 * the MLP's are the demo's long-standing ones; the CNN's were chosen on a validation split (the last
 * 10,000 training images held out; docs/api.md, "The browser demo").
 */
export const TRAINING_DEFAULTS: Record<NetworkKind, { optimizer: OptimizerName; learningRate: number; batchSize: number }> = {
  mlp: { optimizer: 'momentum', learningRate: 0.1, batchSize: 32 },
  cnn: { optimizer: 'adam', learningRate: 0.003, batchSize: 64 },
};
