// simdnet peer for bench/compare.mjs: the public library API (Model + fit + evaluate) on one
// backend, driven by JSON lines on stdin/stdout. Times fit() and evaluate() calls as a user sees
// them; the data is made resident (planned) before the first timed call, as in a real run.
// W1/W2: the MLPs; W4: the Keras mnist_convnet from the layer factories, Glorot-uniform kernels as
// Keras (and the other peers) initialise them, Adam with Keras's betas and epsilon.
import { serve } from './protocol.mjs';
import { conv2d, createBackend, dense, dropout, fit, flatten, loadMnist, maxPool2d, Model } from '../../dist/node.js';

let model, backend, data, work, train, test, evalBatch;

/** the workload's network as a Model config */
function network(w) {
  if (!w.net) return { layers: [784, ...w.hidden, 10], activation: w.activation, loss: 'ce', seed: w.seed ?? 1 };
  if (w.net !== 'mnist_convnet') throw new Error(`unknown network ${w.net}`);
  return {
    inputShape: [28, 28], loss: 'ce', init: 'xavier-uniform', seed: w.seed ?? 1,
    layers: [conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(w.dropout), dense(10)],
  };
}
const OPT_KIND = { sgd: 'none', momentum: 'momentum', adam: 'adam' };

const commands = {
  async init({ workload: w, backend: pref, threads = 1 }) {
    backend = await createBackend({ prefer: pref, threads });
    data = loadMnist();
    work = w;
    model = new Model(network(w), backend);
    return { info: { backend: backend.name, parameters: model.paramCount } };
  },
  async epoch({ samples }) {
    // the first `samples` images (the peer's whole training set when samples = 60,000), reshuffled by fit()
    if (!train || train.count !== samples) {
      train = { ...data.train, count: samples };
      model.plan(work.batchSize, OPT_KIND[work.optimizer], [train]);
    }
    const t0 = performance.now();
    await fit(model, train, {
      epochs: 1, batchSize: work.batchSize, optimizer: work.optimizer, learningRate: work.lr, momentum: work.momentum,
      beta1: work.beta1, beta2: work.beta2, epsilon: work.epsilon, yieldMs: 60_000,
    });
    return { ms: performance.now() - t0, samples };
  },
  async infer({ count, batch }) {
    if (!test || test.count !== count) {
      test = { ...data.test, count };
      evalBatch = 0;
    }
    if (evalBatch !== batch) {
      model.evaluate(test, { batchSize: batch }); // plans the session for this batch size (untimed)
      evalBatch = batch;
    }
    const t0 = performance.now();
    const e = model.evaluate(test, { batchSize: batch });
    return { ms: performance.now() - t0, accuracy: e.accuracy, samples: count };
  },
};

await serve(commands);
