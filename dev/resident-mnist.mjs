// Shared by the scratch benches (not part of the library or tests): MNIST's training images made
// resident in a backend as the sparse kernels take them (nz_count / nz_fill), and a shuffled order.
import { loadMnist } from '../dist/node.js';

/** { N, C, img, start, total, idx, ord } in backend `be`: the u8 images, their non-zero lists, a random order */
export function residentMnist(be) {
  const d = loadMnist().train, N = d.count, C = 784;
  const img = be.alloc('u8', N * C); be.write(img, d.images);
  const start = be.alloc('i32', N + 1);
  const total = be.nz_count(start, img, N, C);
  const idx = be.alloc('i32', total); be.nz_fill(idx, start, img, N, C);
  const order = new Int32Array(N).map((_, i) => i);
  for (let i = N - 1; i > 0; i--) { const j = (Math.random() * (i + 1)) | 0; [order[i], order[j]] = [order[j], order[i]]; }
  const ord = be.alloc('i32', N); be.write(ord, order);
  return { N, C, img, start, total, idx, ord };
}

/** runs each variant over one epoch of batches of B, interleaved, `reps` times; prints the best epoch of each */
export function bestEpochs(run, variants, { B, OC, N, total }, reps) {
  const best = Object.fromEntries(variants.map((v) => [v, Infinity]));
  for (let rep = 0; rep < reps; rep++) for (const v of variants) {
    const f = run[v];
    const t0 = performance.now();
    for (let b = 0; b + B <= N; b += B) f(b);
    best[v] = Math.min(best[v], performance.now() - t0);
  }
  console.log(`B=${B} OC=${OC} nnz/image=${(total / N).toFixed(1)}`);
  for (const v of variants) console.log(v.padEnd(28), best[v].toFixed(1).padStart(7), 'ms/epoch');
}
