// simdnet peer for bench/compare.mjs: the public library API (Model + fit + evaluate) on one
// backend, driven by JSON lines on stdin/stdout. Times fit() and evaluate() calls as a user sees
// them; the data is made resident (planned) before the first timed call, as in a real run.
import { serve } from './protocol.mjs';
import { createBackend, fit, loadMnist, Model } from '../../dist/node.js';

let model, backend, data, work, train, test, evalBatch;

const commands = {
  async init({ workload: w, backend: pref, threads = 1 }) {
    backend = await createBackend({ prefer: pref, threads });
    data = loadMnist();
    work = w;
    model = new Model({ layers: [784, ...w.hidden, 10], activation: w.activation, loss: 'ce', seed: w.seed ?? 1 }, backend);
    return { info: { backend: backend.name } };
  },
  async epoch({ samples }) {
    // the first `samples` images (the peer's whole training set when samples = 60,000), reshuffled by fit()
    if (!train || train.count !== samples) {
      train = { ...data.train, count: samples };
      model.plan(work.batchSize, work.optimizer === 'sgd' ? 'none' : 'momentum', [train]);
    }
    const t0 = performance.now();
    await fit(model, train, {
      epochs: 1, batchSize: work.batchSize, optimizer: work.optimizer, learningRate: work.lr, momentum: work.momentum, yieldMs: 60_000,
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
