/**
 * The runs whose final weights must stay bit-identical across refactors (issue 21's "must not
 * change"): the golden few-step runs (test/train.test.ts's cases), `--preset article`, `--preset fast`
 * and the first two epochs of `--preset best-mlp` (1 and 2 threads), on wasm-simd, wasm-scalar and ts.
 * Each run's weights (every layer's W then b, float32 bytes in order) are hashed with SHA-256.
 *
 * Shared by scripts/check-bit-identity.mjs (every case, on dist/) and test/bit-identity.test.ts (the
 * cheap subset, on src/): both pass the library in as `lib`, so the same code trains both.
 * The stored hashes are test/bit-identity.json, made on the code before the layer refactor.
 */
import { createHash } from 'node:crypto';

/** the golden cases of test/train.test.ts (same data, seed and settings) */
export const GOLDEN_CASES = [
  { name: 'sigmoid-ce-sgd', layers: [7, 5, 3], activation: 'sigmoid', loss: 'ce', optimizer: 'sgd', lr: 0.5 },
  { name: 'relu-ce-momentum', layers: [7, 9, 6, 3], activation: 'relu', loss: 'ce', optimizer: 'momentum', lr: 0.05 },
  { name: 'tanh-mse-adam', layers: [7, 17, 3], activation: 'tanh', loss: 'mse', optimizer: 'adam', lr: 0.01 },
  { name: 'sigmoid-mse-nesterov', layers: [7, 10, 3], activation: 'sigmoid', loss: 'mse', optimizer: 'nesterov', lr: 0.5 },
  { name: 'relu-ce-adamw', layers: [7, 4, 3], activation: 'relu', loss: 'ce', optimizer: 'adamw', lr: 0.01 },
];

const BACKENDS = ['wasm-simd', 'wasm-scalar', 'ts'];

/** every case: { id, kind: 'golden' | 'preset', ... } */
export function allCases() {
  const cases = [];
  for (const backend of BACKENDS) for (const g of GOLDEN_CASES) cases.push({ id: `golden ${g.name} ${backend}`, kind: 'golden', golden: g, backend, threads: 1 });
  for (const backend of BACKENDS) {
    cases.push({ id: `article ${backend}`, kind: 'preset', preset: 'article', backend, threads: 1 });
    // the article's first epoch, and its first 300 batches (the cheap check of the scalar and ts builds in npm test)
    cases.push({ id: `article 1 epoch ${backend}`, kind: 'preset', preset: 'article', stopAfter: 1, backend, threads: 1 });
    cases.push({ id: `article 300 batches ${backend}`, kind: 'preset', preset: 'article', stopAfterBatches: 300, backend, threads: 1 });
    cases.push({ id: `fast ${backend}`, kind: 'preset', preset: 'fast', backend, threads: 1 });
    cases.push({ id: `best-mlp 2 epochs ${backend}`, kind: 'preset', preset: 'best-mlp', stopAfter: 2, backend, threads: 1 });
  }
  // best-mlp's first epoch, and its first 300 batches (the cheap check of dropout and the fused sparse update in npm test)
  cases.push({ id: 'best-mlp 1 epoch wasm-simd', kind: 'preset', preset: 'best-mlp', stopAfter: 1, backend: 'wasm-simd', threads: 1 });
  cases.push({ id: 'best-mlp 300 batches wasm-simd', kind: 'preset', preset: 'best-mlp', stopAfterBatches: 300, backend: 'wasm-simd', threads: 1 });
  cases.push({ id: 'best-mlp 2 epochs wasm-simd 2 threads', kind: 'preset', preset: 'best-mlp', stopAfter: 2, backend: 'wasm-simd', threads: 2 });
  return cases;
}

/** the subset `npm test` runs (well under a minute on a quiet machine) */
export const CHEAP = ['article wasm-simd', 'fast wasm-simd', 'best-mlp 300 batches wasm-simd', 'article 300 batches wasm-scalar', 'article 300 batches ts', ...GOLDEN_CASES.flatMap((g) => BACKENDS.map((b) => `golden ${g.name} ${b}`))];

export function hashWeights(weights) {
  const h = createHash('sha256');
  for (const { W, b } of weights) {
    h.update(new Uint8Array(W.buffer, W.byteOffset, W.byteLength));
    h.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  return h.digest('hex');
}

/** test/helpers/synthetic.ts's synthetic(), repeated here so the script needs no TS (lib.Rng: src/core/rng.ts) */
export function synthetic(lib, count, features, classes, seed, noise = 60) {
  const protoRng = new lib.Rng(1234 + classes * 7 + features);
  const protos = Array.from({ length: classes }, () => Array.from({ length: features }, () => (protoRng.float() < 0.3 ? 200 : 10)));
  const rng = new lib.Rng(seed);
  const images = new Uint8Array(count * features);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = rng.int(classes);
    labels[i] = c;
    for (let j = 0; j < features; j++) images[i * features + j] = Math.max(0, Math.min(255, Math.round(protos[c][j] + (rng.float() * 2 - 1) * noise)));
  }
  return { images, labels, count, features };
}

/**
 * Train one case and return the hash of its final weights.
 * lib: { Model, createBackend, loadMnist, splitValidation, PRESETS, DEFAULTS, Rng }
 */
export async function runCase(lib, c, mnist) {
  const backend = await lib.createBackend({ prefer: c.backend, threads: c.threads });
  try {
    if (c.kind === 'golden') {
      const g = c.golden;
      const model = new lib.Model({ layers: g.layers, activation: g.activation, loss: g.loss, seed: 3 }, backend);
      await model.fit(synthetic(lib, 53, 7, 3, 11), { epochs: 4, batchSize: 8, optimizer: g.optimizer, learningRate: g.lr, weightDecay: g.optimizer === 'adamw' ? 0.01 : 0, yieldMs: 1e9 });
      return hashWeights(model.getWeights());
    }
    // the CLI's `train --preset NAME` (src/cli/main.ts): the defaults, then the preset's settings
    const s = { ...lib.DEFAULTS, ...lib.PRESETS[c.preset].settings };
    const data = mnist ?? lib.loadMnist();
    const split = s.validationSplit !== undefined ? lib.splitValidation(data.train, s.validationSplit, s.seed) : undefined;
    const model = new lib.Model({ layers: [data.features, ...s.hidden, data.classes], activation: s.activation, loss: s.loss, init: s.init, seed: s.seed, imageShape: data.imageShape, dropout: s.dropout ?? 0 }, backend);
    let hash = null, stop = false, batches = 0;
    try {
      await model.fit(split ? split.train : data.train, {
        validationData: split?.validation,
        epochs: s.epochs, batchSize: s.batchSize, learningRate: s.lr, optimizer: s.optimizer, momentum: s.momentum, weightDecay: s.weightDecay,
        schedule: s.schedule, augment: s.augment, earlyStopping: s.earlyStopping ? { patience: s.earlyStopping } : undefined,
        yieldMs: 1e9,
        // polled after every batch's update
        shouldStop: () => stop || (c.stopAfterBatches !== undefined && ++batches >= c.stopAfterBatches),
        callbacks: {
          onEpochEnd: (epoch) => {
            if (c.stopAfter === epoch) {
              hash = hashWeights(model.getWeights());
              stop = true;
            }
          },
        },
      });
    } catch (e) {
      if (!((stop || c.stopAfterBatches !== undefined) && e?.name === 'InterruptedError')) throw e;
    }
    return hash ?? hashWeights(model.getWeights());
  } finally {
    await backend.close?.();
  }
}
