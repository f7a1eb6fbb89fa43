/**
 * The training workloads bench:compare and the A/B scripts (bench/ab/) share: a 784-input, 10-class
 * network on MNIST, its optimizer and batch.
 *   W1  the article's network: 784-64-10 sigmoid, softmax + cross-entropy, SGD lr 0.1, batch 64
 *   W2  wide: 784-800-10 ReLU, softmax + cross-entropy, SGD momentum 0.9, lr 0.01, batch 128
 * and the convolutional one:
 *   W4  the Keras "mnist_convnet": conv 3x3x32 relu, maxpool 2, conv 3x3x64 relu, maxpool 2, flatten,
 *       dropout 0.5, dense 10 softmax (34,826 parameters), Adam lr 0.001 (Keras's betas and epsilon), batch 128
 */
export const WORKLOADS = [
  { name: 'W1', hidden: [64], activation: 'sigmoid', optimizer: 'sgd', lr: 0.1, momentum: 0, batchSize: 64, seed: 1 },
  { name: 'W2', hidden: [800], activation: 'relu', optimizer: 'momentum', lr: 0.01, momentum: 0.9, batchSize: 128, seed: 1 },
];

export const CNN_WORKLOADS = [
  {
    name: 'W4', net: 'mnist_convnet', dropout: 0.5, optimizer: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, batchSize: 128, seed: 1,
    // multiply-adds per sample of each weight layer: conv1 26x26x32 outputs of 3x3x1, conv2 11x11x64 of 3x3x32, dense 1600x10
    macs: [26 * 26 * 32 * 9, 11 * 11 * 64 * 9 * 32, 1600 * 10],
  },
];
