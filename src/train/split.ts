/**
 * Hold out a seeded validation set from the training set. The split depends only on (count,
 * fraction, seed), so it is the same on every run; the test set is never touched.
 */
import { UsageError } from '../core/errors.js';
import type { DataSet } from '../nn/model.js';

export function splitValidation(data: DataSet, fraction: number, seed = 0): { train: DataSet; validation: DataSet } {
  if (!(fraction > 0 && fraction < 1)) throw new UsageError(`validation split must be in (0, 1), got ${fraction}`);
  const N = data.count, F = data.features;
  const nVal = Math.round(N * fraction);
  if (nVal < 1 || nVal >= N) throw new UsageError(`validation split ${fraction} of ${N} samples leaves an empty training or validation set`);
  // Fisher-Yates with mulberry32 on its own seed stream (does not consume the model's RNG)
  let a = (seed ^ 0x9e3779b9) >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const idx = new Int32Array(N);
  for (let i = 0; i < N; i++) idx[i] = i;
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
  }
  const take = (from: number, to: number): DataSet => {
    const n = to - from;
    const images = new Uint8Array(n * F), labels = new Uint8Array(n);
    const sorted = idx.slice(from, to).sort(); // keep the original order within each part
    for (let k = 0; k < n; k++) {
      const s = sorted[k];
      images.set(data.images.subarray(s * F, s * F + F), k * F);
      labels[k] = data.labels[s];
    }
    return { images, labels, count: n, features: F };
  };
  return { validation: take(0, nVal), train: take(nVal, N) };
}
