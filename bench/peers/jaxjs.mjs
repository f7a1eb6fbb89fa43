// jax-js peer for bench/compare.mjs (W4/W5): the Keras "mnist_convnet" network written with jax-js's
// own API (lax.conv, lax.reduceWindow for max pooling, nn.logSoftmax, valueAndGrad) and Adam written
// out by hand (jax-js ships no optimizer: its optimizers live in the separate @jax-js/optax), the
// whole training step under one jit, on the wasm device. In Node jax-js runs one thread: its worker
// pool needs a global Worker, which Node does not have. JSON lines on stdin/stdout.
//
// Layout: jax-js's convolutions are NCHW (kernels OIHW); a one-channel NHWC image is the same bytes,
// so the batch is the IDX pixels / 255 either way. The dropout mask is drawn in JS (xorshift, as the
// tfjs peer's shuffle) and passed in, scaled by 1 / (1 - rate).
import { serve } from './protocol.mjs';
import { defaultDevice, init, jit, lax, nn, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';
import { loadMnist } from '../../dist/node.js';

let work, data, params, adam, step, predict, t = 0, rngState = 1;

function rand() {
  rngState ^= rngState << 13; rngState ^= rngState >>> 17; rngState ^= rngState << 5;
  return (rngState >>> 0) / 2 ** 32;
}

const maxPool2 = (x) => lax.reduceWindow(x, (w) => np.max(w), [2, 2], [2, 2]);

/** x [N, 1, 28, 28] -> logits [N, 10]; mask [N, 1600] (dropout, training) or null */
function forward(p, x, mask) {
  let h = nn.relu(lax.conv(x, p.k1, [1, 1], 'VALID').add(p.b1.reshape([1, 32, 1, 1])));
  h = maxPool2(h);
  h = nn.relu(lax.conv(h, p.k2, [1, 1], 'VALID').add(p.b2.reshape([1, 64, 1, 1])));
  h = maxPool2(h);
  h = h.reshape([h.shape[0], 1600]);
  if (mask) h = h.mul(mask);
  return np.dot(h, p.w).add(p.b);
}

/** mean softmax cross-entropy; y one-hot [N, 10] */
function loss(p, x, y, mask) {
  const n = x.shape[0];
  return nn.logSoftmax(forward(p, x, mask)).mul(y).sum().mul(-1 / n);
}

/** Glorot uniform (Keras's default), seeded: limit sqrt(6 / (fanIn + fanOut)) */
function glorot(seed, shape, fanIn, fanOut) {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  return random.uniform(random.key(seed), shape, { minval: -lim, maxval: lim });
}

function gatherBatch(images, labels, idx, pixels) {
  const x = new Float32Array(idx.length * pixels);
  const y = new Float32Array(idx.length * 10);
  for (let i = 0; i < idx.length; i++) {
    const src = idx[i] * pixels;
    for (let j = 0; j < pixels; j++) x[i * pixels + j] = images[src + j] / 255;
    y[i * 10 + labels[idx[i]]] = 1;
  }
  return [np.array(x).reshape([idx.length, 1, 28, 28]), np.array(y).reshape([idx.length, 10])];
}

const commands = {
  async init({ workload: w, backend }) {
    if (w.net !== 'mnist_convnet') throw new Error(`unknown network ${w.net}`);
    const devices = await init(backend);
    if (!devices.includes(backend)) throw new Error(`jax-js has no ${backend} device here (it has ${devices.join(', ')})`);
    defaultDevice(backend);
    work = w;
    rngState = w.seed ?? 1;
    data = loadMnist();
    const s = w.seed ?? 1;
    params = {
      k1: glorot(s, [32, 1, 3, 3], 9, 9 * 32), b1: np.zeros([32]),
      k2: glorot(s + 1, [64, 32, 3, 3], 9 * 32, 9 * 64), b2: np.zeros([64]),
      w: glorot(s + 2, [1600, 10], 1600, 10), b: np.zeros([10]),
    };
    adam = { m: tree.map((a) => np.zeros(a.shape), params), v: tree.map((a) => np.zeros(a.shape), params) };
    const { beta1: b1, beta2: b2, epsilon: eps } = w;
    // one training step: loss and gradients, then Adam (Keras's form: lrT = lr sqrt(1 - b2^t) / (1 - b1^t))
    step = jit((p, m, v, x, y, mask, lrT) => {
      const [l, g] = valueAndGrad(loss)(tree.ref(p), x, y, mask);
      const P = {}, M = {}, V = {};
      for (const k of Object.keys(p)) {
        const gk = g[k];
        M[k] = m[k].mul(b1).add(gk.ref.mul(1 - b1));
        V[k] = v[k].mul(b2).add(gk.ref.mul(gk).mul(1 - b2));
        P[k] = p[k].sub(lrT.ref.mul(M[k].ref).div(np.sqrt(V[k].ref).add(eps)));
      }
      lrT.dispose();
      return [l, P, M, V];
    });
    predict = jit((p, x) => np.argmax(forward(p, x, null), 1));
    const nParams = tree.leaves(params).reduce((n, a) => n + a.size, 0);
    return { info: { jaxjs: '@jax-js/jax', device: backend, devices, parameters: nParams } };
  },
  async epoch({ samples }) {
    const { images, labels, count } = data.train;
    const t0 = performance.now();
    const order = new Int32Array(count).map((_, i) => i);
    for (let i = count - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); const k = order[i]; order[i] = order[j]; order[j] = k; }
    let last;
    for (let s = 0; s < samples; s += work.batchSize) {
      const idx = order.subarray(s, Math.min(samples, s + work.batchSize));
      const [x, y] = gatherBatch(images, labels, idx, 784);
      const keep = 1 - work.dropout;
      const mask = new Float32Array(idx.length * 1600);
      for (let i = 0; i < mask.length; i++) mask[i] = rand() < keep ? 1 / keep : 0;
      t++;
      const lrT = (work.lr * Math.sqrt(1 - work.beta2 ** t)) / (1 - work.beta1 ** t);
      last?.dispose();
      [last, params, adam.m, adam.v] = step(params, adam.m, adam.v, x, y, np.array(mask).reshape([idx.length, 1600]), np.array(lrT));
    }
    const l = (await last.data())[0]; // waits for the last step's work (and frees the array)
    if (!Number.isFinite(l)) throw new Error(`the loss is ${l}`);
    return { ms: performance.now() - t0, samples };
  },
  async infer({ count: n, batch }) {
    const { images, labels } = data.test;
    const t0 = performance.now();
    let correct = 0;
    for (let s = 0; s < n; s += batch) {
      const idx = Int32Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
      const [x, y] = gatherBatch(images, labels, idx, 784);
      y.dispose();
      const p = await predict(tree.ref(params), x).data();
      for (let i = 0; i < p.length; i++) if (p[i] === labels[s + i]) correct++;
    }
    return { ms: performance.now() - t0, accuracy: correct / n, samples: n };
  },
};

await serve(commands);
