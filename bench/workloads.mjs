/**
 * The training workloads bench:compare and the A/B scripts (bench/ab/) share: a 784-input, 10-class
 * network on MNIST, its optimizer and batch.
 *   W1  the article's network: 784-64-10 sigmoid, softmax + cross-entropy, SGD lr 0.1, batch 64
 *   W2  wide: 784-800-10 ReLU, softmax + cross-entropy, SGD momentum 0.9, lr 0.01, batch 128
 */
export const WORKLOADS = [
  { name: 'W1', hidden: [64], activation: 'sigmoid', optimizer: 'sgd', lr: 0.1, momentum: 0, batchSize: 64, seed: 1 },
  { name: 'W2', hidden: [800], activation: 'relu', optimizer: 'momentum', lr: 0.01, momentum: 0.9, batchSize: 128, seed: 1 },
];
