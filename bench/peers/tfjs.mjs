// TensorFlow.js peer for bench/compare.mjs: the same networks written with tfjs-core ops and its
// optimizers (the idiomatic tfjs training step: optimizer.minimize inside tf.tidy), on the cpu
// backend or tfjs-backend-wasm (XNNPACK, SIMD, one thread). JSON lines on stdin/stdout.
// The MLPs (W1/W2) and the Keras "mnist_convnet" CNN (W4/W5: NHWC, tf.conv2d, tf.maxPool, Adam).
// On wasm the CNN's training fails (tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter:
// tfjs issue #8474): the epoch answers with tfjs's error, and inference still runs.
import { serve } from './protocol.mjs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { loadMnist } from '../../dist/node.js';

// the CommonJS bundles: tfjs's ES modules do not load in Node as they are published
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const { setWasmPaths } = require('@tensorflow/tfjs-backend-wasm');
let work, X, Y, Xtest, ytest, params, optimizer, count, rngState = 1;

function rand() {
  // xorshift32, seeded: the shuffle is reproducible and costs the same as simdnet's
  rngState ^= rngState << 13; rngState ^= rngState >>> 17; rngState ^= rngState << 5;
  return (rngState >>> 0) / 2 ** 32;
}

function forward(x, training = false) {
  if (work.net === 'mnist_convnet') return convnet(x, training);
  let a = x;
  params.forEach(({ W, b }, i) => {
    a = tf.add(tf.matMul(a, W), b);
    if (i < params.length - 1) a = work.activation === 'relu' ? tf.relu(a) : tf.sigmoid(a);
  });
  return a;
}

/** x [N, 28, 28, 1] -> logits [N, 10]: conv 3x3x32 relu, maxpool 2, conv 3x3x64 relu, maxpool 2, flatten, dropout, dense 10 */
function convnet(x, training) {
  const [c1, c2, d] = params;
  let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, c1.W, 1, 'valid'), c1.b)), 2, 2, 'valid');
  h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, c2.W, 1, 'valid'), c2.b)), 2, 2, 'valid');
  h = tf.reshape(h, [h.shape[0], 1600]);
  if (training) h = tf.dropout(h, work.dropout);
  return tf.add(tf.matMul(h, d.W), d.b);
}

/** Keras's initialisation: Glorot uniform kernels (HWIO for convolutions), zero biases */
function convnetParams(seed) {
  const glorot = (shape, fanIn, fanOut, s) => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return { W: tf.variable(tf.randomUniform(shape, -lim, lim, 'float32', s)), b: tf.variable(tf.zeros([shape.at(-1)])) };
  };
  return [glorot([3, 3, 1, 32], 9, 9 * 32, seed), glorot([3, 3, 32, 64], 9 * 32, 9 * 64, seed + 1), glorot([1600, 10], 1600, 10, seed + 2)];
}

const commands = {
  async init({ workload: w, backend }) {
    if (backend === 'wasm') {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, like every other peer
      setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
    }
    await tf.setBackend(backend);
    await tf.ready();
    work = w;
    rngState = w.seed ?? 1;
    const d = loadMnist();
    const shape = (n) => (w.net === 'mnist_convnet' ? [n, 28, 28, 1] : [n, 784]); // NHWC for the CNN
    X = tf.tidy(() => tf.div(tf.tensor(d.train.images, shape(d.train.count), 'int32').toFloat(), 255));
    Y = tf.tidy(() => tf.oneHot(tf.tensor1d(d.train.labels, 'int32'), 10).toFloat());
    Xtest = tf.tidy(() => tf.div(tf.tensor(d.test.images, shape(d.test.count), 'int32').toFloat(), 255));
    ytest = d.test.labels;
    count = d.train.count;
    const sizes = [784, ...(w.hidden ?? []), 10];
    params = w.net === 'mnist_convnet' ? convnetParams(w.seed ?? 1) : sizes.slice(1).map((out, i) => {
      const fanIn = sizes[i];
      const lim = w.activation === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + out));
      return { W: tf.variable(tf.randomUniform([fanIn, out], -lim, lim, 'float32', w.seed ?? 1)), b: tf.variable(tf.zeros([out])) };
    });
    optimizer = w.optimizer === 'adam' ? tf.train.adam(w.lr, w.beta1, w.beta2, w.epsilon) : w.optimizer === 'momentum' ? tf.train.momentum(w.lr, w.momentum) : tf.train.sgd(w.lr);
    const info = { backend: tf.getBackend(), tfjs: tf.version_core, parameters: params.reduce((n, p) => n + p.W.size + p.b.size, 0) };
    if (backend === 'wasm') info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return { info };
  },
  async epoch({ samples }) {
    const t0 = performance.now();
    const order = new Int32Array(count).map((_, i) => i);
    for (let i = count - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
    for (let s = 0; s < samples; s += work.batchSize) {
      const idx = order.subarray(s, Math.min(samples, s + work.batchSize));
      tf.tidy(() => {
        const it = tf.tensor1d(idx, 'int32');
        const x = tf.gather(X, it), y = tf.gather(Y, it);
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x, true)));
      });
    }
    await params[0].W.data(); // wait for the last step's work
    return { ms: performance.now() - t0, samples };
  },
  async infer({ count: n, batch }) {
    const t0 = performance.now();
    let correct = 0;
    for (let s = 0; s < n; s += batch) {
      const pred = tf.tidy(() => tf.argMax(tf.softmax(forward(tf.slice(Xtest, s, Math.min(batch, n - s)))), 1));
      const p = await pred.data();
      pred.dispose();
      for (let i = 0; i < p.length; i++) if (p[i] === ytest[s + i]) correct++;
    }
    return { ms: performance.now() - t0, accuracy: correct / n, samples: n };
  },
};

await serve(commands);
