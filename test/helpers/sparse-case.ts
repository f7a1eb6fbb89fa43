/** Random sparse-layer inputs (u8 rows of a given density, a batch of row indices, weights, gradients) for the sparse kernel tests. */
import { Rng } from '../../src/core/rng.js';

export interface SparseCase { src: Uint8Array; idx: Int32Array; W: Float32Array; b: Float32Array; dout: Float32Array; dW0: Float32Array; db0: Float32Array; rows: number; B: number; C: number; OC: number }

/** `rows` dataset rows of C pixels (non-zero with probability `density`), a batch of B of them, and (C, OC) weights */
export function makeSparseCase(rows: number, B: number, C: number, OC: number, density: number, seed: number): SparseCase {
  const rng = new Rng(seed);
  const src = new Uint8Array(rows * C);
  for (let i = 0; i < src.length; i++) if (rng.float() < density) src[i] = 1 + rng.int(255);
  const idx = Int32Array.from({ length: B }, () => rng.int(rows));
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.float() * 2 - 1);
  return { src, idx, W: r(C * OC), b: r(OC), dout: r(B * OC), dW0: r(C * OC), db0: r(OC), rows, B, C, OC };
}
